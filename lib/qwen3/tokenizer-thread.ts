// The JS-thread side of the tokenizer thread (tokenizer-worker.ts): one worker per process, started on first use,
// holding every tokenizer the process opened. It keeps the process alive only while a request is in flight, so a
// process with nothing pending exits as usual.
import * as path from 'path';
import { Worker } from 'worker_threads';

/** Qwen3's tokenizer.json is 11 MB; a file 20x that size is not a tokenizer, and parsing it would cost its size. */
export const MAX_TOKENIZER_BYTES = 256 << 20;

export type TokenizerRequest = { id: number } & (
  | { op: 'open'; file: string }
  | { op: 'encode'; handle: number; texts: string[] }
  | { op: 'decode'; handle: number; idLists: number[][]; skipSpecialTokens: boolean }
  | { op: 'tokenToId'; handle: number; tokens: string[] }
  | { op: 'idToToken'; handle: number; ids: number[] }
);

type Body<T> = T extends unknown ? Omit<T, 'id'> : never;

export type TokenizerReply = { id: number } & (
  | { error: string }
  | { handle: number; vocabSize: number }
  | { ids: Int32Array; lengths: Int32Array }
  | { texts: string[] }
  | { values: (number | string | null)[] }
);

interface Pending {
  resolve: (reply: TokenizerReply) => void;
  reject: (error: Error) => void;
}

/** A tokenizer on the thread; `generation` tells whether the thread that holds it is still the one running. */
export interface TokenizerHandle {
  handle: number;
  vocabSize: number;
  generation: number;
}

class TokenizerThread {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** counts thread starts: handles from an earlier thread are gone */
  generation = 0;

  /** Sends a request; the reply carries the generation of the thread that answered it. */
  request<R extends TokenizerReply>(body: Body<TokenizerRequest>): Promise<R & { generation: number }> {
    const worker = this.start();
    const generation = this.generation;
    const id = this.nextId++;
    return new Promise<R & { generation: number }>((resolve, reject) => {
      const answer = (reply: TokenizerReply): void => resolve({ ...(reply as R), generation });
      this.pending.set(id, { resolve: answer, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...body, id });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(path.join(__dirname, 'tokenizer-worker.js'));
    this.generation++;
    worker.unref();
    worker.on('message', (reply: TokenizerReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!waiting) return;
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve(reply);
    });
    const stop = (error: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => stop(new Error(`the tokenizer thread failed: ${error.message}`)));
    worker.on('exit', (code) => stop(new Error(`the tokenizer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

export const tokenizerThread = new TokenizerThread();
