// The thread Qwen3 tokenizers live on (tokenizer-thread.ts starts it). Reading a tokenizer.json with HF's Rust
// tokenizers is one synchronous call of 1.1-2.5 s for Qwen3's 11 MB file (the binding has no async form): on the JS
// thread it was most of the 1.76 s that Predictor.load() blocked the event loop. Here it blocks only this thread.
// Encoding still runs in the binding's own async tasks; ids travel back as transferred Int32Arrays.
import { parentPort } from 'worker_threads';
import { Tokenizer } from '@anush008/tokenizers';
import { readRegularFile } from '../util/regular-file';
import { fromNested } from './sequences';
import { MAX_TOKENIZER_BYTES, type TokenizerReply, type TokenizerRequest } from './tokenizer-thread';

const tokenizers: Tokenizer[] = [];

function tokenizer(handle: number): Tokenizer {
  const t = tokenizers[handle];
  if (!t) throw new Error(`no tokenizer ${handle} on the tokenizer thread`);
  return t;
}

async function handle(m: TokenizerRequest): Promise<{ reply: TokenizerReply; transfer?: ArrayBuffer[] }> {
  switch (m.op) {
    case 'open': {
      // Read through the regular-file check (a named pipe swapped in after the JS thread looked must not block this
      // thread forever), then parsed from the text: fromString costs the same as fromFile (measured 4.7-9.9 s each
      // under load, neither faster).
      const text = (await readRegularFile(m.file, 'a tokenizer.json', MAX_TOKENIZER_BYTES)).toString('utf8');
      const t = Tokenizer.fromString(text);
      tokenizers.push(t);
      return { reply: { id: m.id, handle: tokenizers.length - 1, vocabSize: t.getVocabSize(true) } };
    }
    case 'encode': {
      const encodings = await tokenizer(m.handle).encodeBatch(m.texts, { addSpecialTokens: false });
      const { ids, lengths } = fromNested(encodings.map((e) => e.getIds()));
      return {
        reply: { id: m.id, ids, lengths },
        transfer: [ids.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer],
      };
    }
    case 'decode':
      return { reply: { id: m.id, texts: await tokenizer(m.handle).decodeBatch(m.idLists, m.skipSpecialTokens) } };
    case 'tokenToId': {
      const t = tokenizer(m.handle);
      return { reply: { id: m.id, values: m.tokens.map((token) => t.tokenToId(token) ?? null) } };
    }
    case 'idToToken': {
      const t = tokenizer(m.handle);
      return { reply: { id: m.id, values: m.ids.map((id) => t.idToToken(id) ?? null) } };
    }
  }
}

parentPort!.on('message', (m: TokenizerRequest) => {
  handle(m).then(
    ({ reply, transfer }) => parentPort!.postMessage(reply, transfer),
    (error: unknown) =>
      parentPort!.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) })
  );
});
