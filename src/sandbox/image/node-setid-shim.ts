/**
 * Debian 13's Node refuses every process.set*id() call ("setgroups() disabled: io_uring may be
 * enabled", CVE-2024-22017): io_uring operations queued before a credential change would run with
 * the old credentials. Node built against its own patched libuv asks that libuv, through the symbol
 * `uv__node_patch_is_using_io_uring`, whether it uses io_uring; Debian links the system libuv,
 * which has no such symbol, so Node cannot know and refuses always. The guest agent needs seteuid
 * to do file operations as the sandbox user (src/guest/privileges.ts).
 *
 * The guest starts its agent with UV_USE_IO_URING=0, which makes libuv (1.45 and later, the only
 * versions Node worries about) do file operations on its thread pool, never through io_uring, and
 * glibc applies set*id to every thread. So the true answer to Node's question is "no", and this
 * shared object, preloaded into the agent, gives it: one exported function returning 0. It is
 * written byte by byte (an x86-64 ELF shared object: a loadable segment, a dynamic section with a
 * SysV hash table, one symbol) so that no compiler is needed on the host. The image build checks
 * that the host's Node accepts set*id with it (node-runtime.ts), and a VM test checks the agent's ids.
 */

export const SETID_SHIM_SYMBOL = "uv__node_patch_is_using_io_uring";
/** Where the guest root holds it. */
export const SETID_SHIM_PATH = "/opt/vibewriter/lib/node-setid-shim.so";

/** The shared object's bytes. */
export function nodeSetIdShim(): Buffer {
  const EHDR = 64;
  const PHDR = 56;
  const PHNUM = 3;
  const align8 = (n: number) => (n + 7) & ~7;

  const hashOff = EHDR + PHDR * PHNUM;
  const hash = u32s([1, 2, 1, 0, 0]); // nbucket=1, nchain=2, bucket[0]=symbol 1, chain[0..1]=0
  const symOff = align8(hashOff + hash.length);
  const strtab = Buffer.from(`\0${SETID_SHIM_SYMBOL}\0`, "latin1");
  const strOff = symOff + 2 * 24;
  const textOff = align8(strOff + strtab.length);
  const text = Buffer.from([0x31, 0xc0, 0xc3]); // xor eax, eax; ret
  const dynOff = align8(textOff + text.length);
  const DT = { NULL: 0, HASH: 4, STRTAB: 5, SYMTAB: 6, STRSZ: 10, SYMENT: 11 };
  const dynamic = [
    [DT.HASH, hashOff],
    [DT.STRTAB, strOff],
    [DT.SYMTAB, symOff],
    [DT.STRSZ, strtab.length],
    [DT.SYMENT, 24],
    [DT.NULL, 0],
  ] as const;
  const size = dynOff + dynamic.length * 16;

  const b = Buffer.alloc(size);
  // ELF header: 64-bit, little-endian, ET_DYN, x86-64, no section headers.
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0);
  b.writeUInt16LE(3, 16); // e_type ET_DYN
  b.writeUInt16LE(62, 18); // e_machine EM_X86_64
  b.writeUInt32LE(1, 20); // e_version
  b.writeBigUInt64LE(0n, 24); // e_entry
  b.writeBigUInt64LE(BigInt(EHDR), 32); // e_phoff
  b.writeUInt16LE(EHDR, 52); // e_ehsize
  b.writeUInt16LE(PHDR, 54); // e_phentsize
  b.writeUInt16LE(PHNUM, 56); // e_phnum

  const phdr = (i: number, type: number, flags: number, off: number, len: number, align: number) => {
    const at = EHDR + i * PHDR;
    b.writeUInt32LE(type, at);
    b.writeUInt32LE(flags, at + 4);
    b.writeBigUInt64LE(BigInt(off), at + 8); // p_offset
    b.writeBigUInt64LE(BigInt(off), at + 16); // p_vaddr (= offset: one segment from 0)
    b.writeBigUInt64LE(BigInt(off), at + 24); // p_paddr
    b.writeBigUInt64LE(BigInt(len), at + 32); // p_filesz
    b.writeBigUInt64LE(BigInt(len), at + 40); // p_memsz
    b.writeBigUInt64LE(BigInt(align), at + 48);
  };
  const [R, W, X] = [4, 2, 1];
  phdr(0, 1, R | X, 0, size, 0x1000); // PT_LOAD: the whole file, read + execute
  phdr(1, 2, R, dynOff, size - dynOff, 8); // PT_DYNAMIC, read-only: ld.so leaves it as it is
  phdr(2, 0x6474e551, R | W, 0, 0, 16); // PT_GNU_STACK: no executable stack wanted

  hash.copy(b, hashOff);
  // Symbol 0 is the null symbol; symbol 1: global function at textOff, in "section" 1 (defined).
  const sym = symOff + 24;
  b.writeUInt32LE(1, sym); // st_name: offset in strtab
  b.writeUInt8((1 << 4) | 2, sym + 4); // st_info: STB_GLOBAL, STT_FUNC
  b.writeUInt8(0, sym + 5); // st_other: default visibility
  b.writeUInt16LE(1, sym + 6); // st_shndx: any defined section index
  b.writeBigUInt64LE(BigInt(textOff), sym + 8); // st_value
  b.writeBigUInt64LE(BigInt(text.length), sym + 16); // st_size
  strtab.copy(b, strOff);
  text.copy(b, textOff);
  dynamic.forEach(([tag, val], i) => {
    b.writeBigInt64LE(BigInt(tag), dynOff + i * 16);
    b.writeBigUInt64LE(BigInt(val), dynOff + i * 16 + 8);
  });
  return b;
}

function u32s(values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeUInt32LE(v, i * 4));
  return out;
}
