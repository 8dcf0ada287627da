// ANCHOR: all
//! Where a field sits in a structure of the kernel's, read from the kernel's
//! description of its own types: BTF, in `/sys/kernel/btf/vmlinux`.
//!
//! The layout of `struct task_struct` is no ABI: it changes from one kernel
//! version, and one configuration, to the next. A program that reads a field
//! of it must ask this kernel where the field is; that is what BTF is for,
//! and what libbpf's "CO-RE" does for programs compiled ahead of time. We
//! need a few fields of the task and of the structures it holds, and read
//! just enough of the format to find them.
//!
//! The file is a header, a section of types and a section of their names.
//! Each type is a 12-byte record (its name, its kind and count, its size),
//! then as many bytes again as its kind says: a structure lists its members,
//! 12 bytes each, with the member's name, type and offset in bits. Types are
//! numbered from 1 in the order they come.

use std::fs;

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The kinds of type, as `linux/btf.h` numbers them (`BTF_KIND_STRUCT`…).
const STRUCT: u32 = 4;
const UNION: u32 = 5;

/// The kernel's types, read.
pub struct Btf {
    data: Vec<u8>,
    /// Where each type's record starts in `data`, by type number - 1.
    types: Vec<usize>,
    /// Where the names start in `data`.
    names: usize,
}

impl Btf {
    // ANCHOR: read
    /// Reads the kernel's types, and finds where each one's record starts.
    pub fn read() -> Result<Btf, String> {
        let cannot = |why: &str| {
            format!(
                "cannot read the kernel's types from {VMLINUX} ({why}): step 10 needs a \
                 kernel built with CONFIG_DEBUG_INFO_BTF, as most distributions' are"
            )
        };
        let data = fs::read(VMLINUX).map_err(|e| cannot(&e.to_string()))?;
        let word = |at: usize| word(&data, at);
        if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != 0xeb9f {
            return Err(cannot("not BTF"));
        }
        // The header: its length, then the types' and the names' places.
        let start = word(4) as usize;
        let types_start = start + word(8) as usize;
        let types_end = types_start + word(12) as usize;
        let names = start + word(16) as usize;
        let mut types = Vec::new();
        let mut at = types_start;
        while at + 12 <= types_end.min(data.len()) {
            types.push(at);
            let info = word(at + 4);
            let (kind, count) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            // The bytes after the record, for each kind (linux/btf.h).
            at += 12
                + match kind {
                    1 | 14 | 17 => 4,      // INT, VAR, DECL_TAG: a word
                    3 => 12,               // ARRAY: element type, index type, length
                    4 | 5 => 12 * count,   // STRUCT, UNION: the members
                    6 | 13 => 8 * count,   // ENUM, FUNC_PROTO: names and values
                    15 | 19 => 12 * count, // DATASEC, ENUM64
                    _ => 0,                // pointers, typedefs, qualifiers…
                };
        }
        Ok(Btf { data, types, names })
    }
    // ANCHOR_END: read

    // ANCHOR: offset_of
    /// Where `member` sits in `struct name`, in bytes from its start: as
    /// an instruction's offset, 16 bits.
    pub fn offset_of(&self, name: &str, member: &str) -> Result<i16, String> {
        let structure = (1..=self.types.len() as u32)
            .find(|&id| self.kind(id) == STRUCT && self.name(self.word_of(id, 0)) == name)
            .ok_or_else(|| format!("the kernel's types have no struct {name}"))?;
        let bits = self
            .find_member(structure, member)
            .ok_or_else(|| format!("the kernel's struct {name} has no field {member}"))?;
        i16::try_from(bits / 8)
            .map_err(|_| format!("the kernel's {name}.{member} is too far for an instruction"))
    }

    /// The offset in bits of `member` in the structure or union `id`, looking
    /// into its members without a name too (`struct { … };` inside it).
    fn find_member(&self, id: u32, member: &str) -> Option<u32> {
        let record = self.types[id as usize - 1];
        let info = self.word_of(id, 4);
        // With the "kind flag" set, the offset's top byte is a bitfield's size.
        let offset_mask = if info >> 31 == 1 { 0xff_ffff } else { u32::MAX };
        (0..(info & 0xffff) as usize).find_map(|i| {
            let at = record + 12 + 12 * i;
            let [name, type_id, offset] = [at, at + 4, at + 8].map(|at| word(&self.data, at));
            let offset = offset & offset_mask;
            match self.name(name) {
                "" if matches!(self.kind(type_id), STRUCT | UNION) => self
                    .find_member(type_id, member)
                    .map(|inner| offset + inner),
                found if found == member => Some(offset),
                _ => None,
            }
        })
    }
    // ANCHOR_END: offset_of

    fn kind(&self, id: u32) -> u32 {
        match id {
            0 => 0, // "void"
            _ => (self.word_of(id, 4) >> 24) & 0x1f,
        }
    }

    /// The word at `offset` in the record of type `id`.
    fn word_of(&self, id: u32, offset: usize) -> u32 {
        word(&self.data, self.types[id as usize - 1] + offset)
    }

    /// The name that starts `offset` bytes into the names.
    fn name(&self, offset: u32) -> &str {
        let start = self.names + offset as usize;
        let rest = self.data.get(start..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }
}

/// The little-endian 32-bit word at `at`, or 0 past the end.
fn word(data: &[u8], at: usize) -> u32 {
    data.get(at..at + 4)
        .map_or(0, |bytes| u32::from_le_bytes(bytes.try_into().unwrap()))
}
// ANCHOR_END: all
