// The thread Qwen3 tokenizers live on (tokenizer-thread.ts starts it). The tokenizer is Hugging Face's
// @huggingface/tokenizers (pure JavaScript, no dependencies, what transformers.js runs): on the 10,000 shared posts and
// the referee's hard cases it gives the same ids as their Rust tokenizers (bench/tokenizer-parity.js), at about
// 100,000 tokens/s on one core, hundreds of times what the model consumes. Reading Qwen3's 11 MB tokenizer.json and
// building its tables is one synchronous step (0.4 s measured, more under load), and encoding is synchronous too: both
// block only this thread, never the event loop. Ids travel back as transferred Int32Arrays.
import * as path from 'path';
import { parentPort } from 'worker_threads';
import type { Tokenizer } from '@huggingface/tokenizers';
import { isMissingFileError, readRegularFile } from '../util/regular-file';
import { fromNested } from './sequences';
import { openTokenizer } from './tokenizer-open';
import { MAX_TOKENIZER_BYTES, type TokenizerReply, type TokenizerRequest } from './tokenizer-thread';

const tokenizers: Tokenizer[] = [];

function tokenizer(handle: number): Tokenizer {
  const t = tokenizers[handle];
  if (!t) throw new Error(`no tokenizer ${handle} on the tokenizer thread`);
  return t;
}

function parseJson(text: string, file: string): object {
  try {
    return JSON.parse(text) as object;
  } catch (e) {
    throw new Error(`${file} is not a tokenizer.json: ${(e as Error).message}`);
  }
}

/** tokenizer_config.json beside the tokenizer.json (how decoding treats spaces, the special tokens), else none. */
async function tokenizerConfig(file: string): Promise<object> {
  const config = path.join(path.dirname(file), 'tokenizer_config.json');
  let text: string;
  try {
    text = (await readRegularFile(config, 'a tokenizer_config.json', MAX_TOKENIZER_BYTES)).toString('utf8');
  } catch (e) {
    if (isMissingFileError(e)) return {};
    throw e;
  }
  return parseJson(text, config);
}

async function handle(m: TokenizerRequest): Promise<{ reply: TokenizerReply; transfer?: ArrayBuffer[] }> {
  switch (m.op) {
    case 'open': {
      // Read through the regular-file check (a named pipe swapped in after the JS thread looked must not block this
      // thread forever).
      const text = (await readRegularFile(m.file, 'a tokenizer.json', MAX_TOKENIZER_BYTES)).toString('utf8');
      const t = openTokenizer(parseJson(text, m.file), await tokenizerConfig(m.file));
      tokenizers.push(t);
      return { reply: { id: m.id, handle: tokenizers.length - 1, vocabSize: t.get_vocab(true).size } };
    }
    case 'encode': {
      const t = tokenizer(m.handle);
      const { ids, lengths } = fromNested(m.texts.map((text) => t.encode(text, { add_special_tokens: false }).ids));
      return {
        reply: { id: m.id, ids, lengths },
        transfer: [ids.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer],
      };
    }
    case 'decode': {
      const t = tokenizer(m.handle);
      const options = { skip_special_tokens: m.skipSpecialTokens };
      // The library refuses an empty list; the Rust tokenizers decoded it to '', which callers rely on.
      return { reply: { id: m.id, texts: m.idLists.map((ids) => (ids.length ? t.decode(ids, options) : '')) } };
    }
    case 'tokenToId': {
      const t = tokenizer(m.handle);
      return { reply: { id: m.id, values: m.tokens.map((token) => t.token_to_id(token) ?? null) } };
    }
    case 'idToToken': {
      const t = tokenizer(m.handle);
      return { reply: { id: m.id, values: m.ids.map((id) => t.id_to_token(id) ?? null) } };
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
