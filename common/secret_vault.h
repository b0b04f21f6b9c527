// Where every secret buffer of the process lives (SecureBuffer's storage): a fixed table of
// cells in static storage. A forked child wipes every PIN it inherited in its atfork handler
// (registered at the first acquire), without a lock or a pointer to follow.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jpki::vault {

constexpr std::size_t kCellSize = 64;  // the longest secret: a 16-character PIN in an APDU
constexpr std::size_t kCells = 1024;  // live secrets at once (PINs, fingerprints, keys)

struct Cell {
    std::uint8_t bytes[kCellSize];
    std::size_t size;
};

// A free cell, empty; throws std::bad_alloc when every cell is taken. Thread-safe, lock-free.
Cell* acquire();
// Wipes the cell and gives it back.
void release(Cell* cell) noexcept;
// Wipes the bytes of every cell (their owners keep them, now empty). Async-signal-safe: for
// the child handler of pthread_atfork.
void wipe_all() noexcept;
// A cell-sized block of zeros, for buffers that hold no cell.
const std::uint8_t* zeros() noexcept;

}  // namespace jpki::vault
