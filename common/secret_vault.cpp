#include "common/secret_vault.h"

#include "common/secure_memory.h"

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <new>

namespace jpki::vault {

namespace {
Cell g_cells[kCells];
std::atomic<bool> g_taken[kCells];
const std::uint8_t g_zeros[kCellSize] = {};
}  // namespace

Cell* acquire() {
    // The child of a fork() wipes every secret it inherited before it runs anything else.
    static std::once_flag atfork_once;
    std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, [] { wipe_all(); }); });
    for (std::size_t i = 0; i < kCells; ++i) {
        bool expected = false;
        if (g_taken[i].compare_exchange_strong(expected, true)) {
            g_cells[i].size = 0;
            return &g_cells[i];
        }
    }
    throw std::bad_alloc();
}

void release(Cell* cell) noexcept {
    if (!cell) return;
    secure_wipe(cell->bytes, sizeof cell->bytes);
    cell->size = 0;
    g_taken[static_cast<std::size_t>(cell - g_cells)].store(false);
}

void wipe_all() noexcept {
    for (Cell& c : g_cells) {
        secure_wipe(c.bytes, sizeof c.bytes);
        c.size = 0;
    }
}

const std::uint8_t* zeros() noexcept { return g_zeros; }

}  // namespace jpki::vault
