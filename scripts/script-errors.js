// The development scripts report a failure as one line, `<script>: <reason>`, exit code 1, instead
// of a stack trace (a missing checkpoint, a bad layout file, a corrupt model).
'use strict';
module.exports = function oneLineErrors(name) {
  const fail = (e) => {
    console.error(`${name}: ${e && e.message ? e.message : String(e)}`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
};
