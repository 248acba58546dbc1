/**
 * deepagents' MIME rules (its `getMimeType`/`isTextMimeType` are not exported): known binary
 * extensions read as bytes, everything else as text.
 */
import { extname } from "node:path";

const BINARY_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".heic": "image/heic",
  ".heif": "image/heif",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".aiff": "audio/aiff",
  ".aac": "audio/aac",
  ".ogg": "audio/ogg",
  ".flac": "audio/flac",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mpeg": "video/mpeg",
  ".mov": "video/quicktime",
  ".avi": "video/x-msvideo",
  ".flv": "video/x-flv",
  ".mpg": "video/mpeg",
  ".wmv": "video/x-ms-wmv",
  ".3gpp": "video/3gpp",
  ".pdf": "application/pdf",
  ".ppt": "application/vnd.ms-powerpoint",
  ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
};
const TEXT_TYPES: Record<string, string> = {
  ".svg": "image/svg+xml",
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".html": "text/html",
  ".htm": "text/html",
  ".css": "text/css",
  ".csv": "text/csv",
  ".xml": "text/xml",
  ".json": "application/json",
  ".js": "application/javascript",
  ".mjs": "application/javascript",
  ".cjs": "application/javascript",
};

export function mimeTypeOf(path: string): string {
  const ext = extname(path).toLowerCase();
  return BINARY_TYPES[ext] ?? TEXT_TYPES[ext] ?? "text/plain";
}

export function isTextMimeType(mime: string): boolean {
  return mime.startsWith("text/") || mime === "application/json" || mime === "application/javascript" || mime === "image/svg+xml";
}
