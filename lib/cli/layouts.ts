// Layout files as the model commands read them: every line parsed (captions and expressions
// normalised: case, commas, a final period), and every layout checked against the model's
// position table, so a caption too long for the model is "FILE:LINE: reason" before any work.
import { LayoutError, readLayoutEntries } from '../data';
import { EchoGen, l2iPrompt } from '../model';
import type { Layout } from '../model';

/** The layouts of `file`; a LayoutError (exit 1) names the first line the model cannot take. */
export function readModelLayouts(file: string, model: EchoGen): Layout[] {
  const entries = readLayoutEntries(file);
  if (entries.length === 0) throw new LayoutError(file, 0, 'the file has no layouts');
  return entries.map((e) => {
    const layout = e.layout as Layout;
    try {
      model.checkPositions(l2iPrompt(model.vocab, layout).pos);
    } catch (err) {
      const msg = (err as Error).message.replace(/^EchoGen: a sequence reaches/, 'the layout (caption, expressions and boxes) reaches');
      throw new LayoutError(file, e.line, msg);
    }
    return layout;
  });
}
