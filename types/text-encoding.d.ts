/**
 * TextEncoder/TextDecoder exist in browsers and in Node as globals. tsconfig.json type-checks the
 * browser-safe layers with the ES library only (no DOM, no Node), so declare just these two.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
