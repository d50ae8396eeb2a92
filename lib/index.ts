// Public API of qwen3-native.
export { Qwen3Model, runtimeInfo, resolveDeviceAndDtype } from './model';
export type { LoadOptions, ForwardOptions, EmbedOptions, DeviceOption, DTypeOption } from './model';
export { createTinyQwen3 } from './tiny';
export { Qwen3Tokenizer } from './tokenizer';
export type { Qwen3HFConfig } from './config-types';
export * from './constants';
