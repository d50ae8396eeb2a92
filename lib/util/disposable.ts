// `using` / `await using` (explicit resource management): the package's resources free themselves at the end of a
// scope through Symbol.dispose / Symbol.asyncDispose (in Node since 20.4 and 18.18). The global lines below are the
// ones @types/node and TypeScript's esnext.disposable library declare, so the package's declarations compile for a
// user with either, or with neither (TypeScript merges identical declarations), and `await using` type-checks for
// a user whose `lib` predates it.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
  interface Disposable {
    [Symbol.dispose](): void;
  }
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}

/** Freed by `using` (Symbol.dispose) and `await using` (Symbol.asyncDispose). */
export interface DisposableResource {
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Freed by `await using` (Symbol.asyncDispose): its end takes time (a training step, the requests in flight). */
export interface AsyncDisposableResource {
  [Symbol.asyncDispose](): Promise<void>;
}
