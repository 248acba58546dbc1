/** Which files grep skips: deepagents' binary extensions, plus anything with a NUL byte early on. */
const BINARY_EXTENSIONS = new Set([
  ".png", ".jpg", ".jpeg", ".gif", ".webp", ".heic", ".heif", ".mp3", ".wav", ".aiff", ".aac", ".ogg",
  ".flac", ".mp4", ".webm", ".mpeg", ".mov", ".avi", ".flv", ".mpg", ".wmv", ".3gpp", ".pdf", ".ppt", ".pptx",
]);

export function hasBinaryExtension(name: string): boolean {
  const dot = name.lastIndexOf(".");
  return dot > 0 && BINARY_EXTENSIONS.has(name.slice(dot).toLowerCase());
}

/** Like git and grep: a NUL byte near the start marks binary content. */
export function looksBinary(text: string): boolean {
  return text.slice(0, 8192).includes("\0");
}
