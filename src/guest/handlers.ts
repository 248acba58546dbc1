/** The op → handler table. One file per call or small group under `ops/`. */
import type { Op, Result } from "../protocol/index.ts";
import type { AgentContext } from "./context.ts";
import { handleCancel } from "./ops/cancel.ts";
import { handleExec } from "./ops/exec.ts";
import { handleDelete, handleMkdir } from "./ops/fs-delete.ts";
import { handleEdit } from "./ops/fs-edit.ts";
import { handleLs, handleManifest, handleStat } from "./ops/fs-list.ts";
import { handleDownload, handleRead } from "./ops/fs-read.ts";
import { handleUpload, handleWrite } from "./ops/fs-write.ts";
import { handleGlob } from "./ops/glob.ts";
import { handleGrep } from "./ops/grep.ts";
import { handleHello } from "./ops/hello.ts";
import type { OpRequest } from "./request-context.ts";

export type Handler<O extends Op> = (ctx: AgentContext, req: OpRequest<O>) => Promise<Result<O>>;

export const handlers: { [O in Op]: Handler<O> } = {
  hello: handleHello,
  exec: handleExec,
  read: handleRead,
  write: handleWrite,
  edit: handleEdit,
  stat: handleStat,
  ls: handleLs,
  glob: handleGlob,
  grep: handleGrep,
  delete: handleDelete,
  mkdir: handleMkdir,
  upload: handleUpload,
  download: handleDownload,
  manifest: handleManifest,
  cancel: handleCancel,
};
