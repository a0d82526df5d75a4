//! Random edits of a response body, shared by tests/decoder.rs and the
//! crate's own tests of `src/query/scan.rs` (as `crate::query::tests`,
//! through `#[path]`): one copy for both.

pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Bytes JSON and the decoder treat specially, for mutations to insert.
const SPECIAL: &[u8] = b"\"\\{}[],:\n 0-1e.E+tfn\x00\xff\xc3";

/// `base` with one to four random edits: a byte flipped or replaced, bytes
/// inserted, a range deleted or repeated, the tail cut.
pub(crate) fn mutate(base: &[u8], seed: &mut u64) -> Vec<u8> {
    let mut next = |n: usize| -> usize {
        *seed = splitmix64(*seed);
        if n == 0 {
            0
        } else {
            (*seed % n as u64) as usize
        }
    };
    let mut out = base.to_vec();
    for _ in 0..1 + next(4) {
        let len = out.len();
        let at = next(len + 1);
        match next(6) {
            0 if at < len => out[at] ^= 1 << next(8),
            1 if at < len => out[at] = SPECIAL[next(SPECIAL.len())],
            2 => {
                let b = SPECIAL[next(SPECIAL.len())];
                out.insert(at, b);
            }
            3 => {
                let end = (at + 1 + next(16)).min(len);
                out.drain(at.min(end)..end);
            }
            4 => {
                let end = (at + 1 + next(64)).min(len);
                let piece = out[at.min(end)..end].to_vec();
                let to = next(out.len() + 1);
                out.splice(to..to, piece);
            }
            _ => out.truncate(at),
        }
    }
    out
}
