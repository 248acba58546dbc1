/** Which files grep skips by name: deepagents' binary extensions (grep also skips early NUL bytes). */
const BINARY_EXTENSIONS = new Set([
  ".png", ".jpg", ".jpeg", ".gif", ".webp", ".heic", ".heif", ".mp3", ".wav", ".aiff", ".aac", ".ogg",
  ".flac", ".mp4", ".webm", ".mpeg", ".mov", ".avi", ".flv", ".mpg", ".wmv", ".3gpp", ".pdf", ".ppt", ".pptx",
]);

export function hasBinaryExtension(name: string): boolean {
  const dot = name.lastIndexOf(".");
  return dot > 0 && BINARY_EXTENSIONS.has(name.slice(dot).toLowerCase());
}
