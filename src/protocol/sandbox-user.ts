/**
 * The unprivileged user commands run as inside the VM: the image builder creates it (passwd,
 * group, owner of /workspace) and the guest agent drops to it, so both sides read it here.
 */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
