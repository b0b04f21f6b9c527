// The module's life: C_Initialize / C_Finalize, the state that exists between them, and fork
// safety (a child process sees CKR_CRYPTOKI_NOT_INITIALIZED until it initialises again, and
// never touches the parent's PC/SC handles).
#pragma once

#include "card/reader_provider.h"
#include "pkcs11/mutex.h"
#include "pkcs11/pkcs11.h"
#include "pkcs11/session_table.h"
#include "pkcs11/slot_table.h"

#include <atomic>
#include <memory>
#include <mutex>

namespace jpki::p11 {

struct ModuleState {
    MutexFactory mutexes;
    std::unique_ptr<ReaderProvider> provider;
    std::unique_ptr<Mutex> mutex;  // guards slots and sessions; never held across a blocking wait
    SlotTable slots;
    SessionTable sessions;
    unsigned fork_generation = 0;
    std::atomic<bool> finalized{false};

    // Refreshes the slot table and closes the sessions of cards that left. Call with `mutex`
    // held through `lock`: it is released while a new card is identified (card I/O never
    // runs under the module lock). Without `identify`, new cards are left for the next call.
    void refresh(std::unique_lock<Mutex>& lock, bool identify = true);

    bool slots_listed = false;  // C_GetSlotList has looked at the readers once

    // Threads inside C_WaitForSlotEvent: C_Finalize waits (bounded) until they have left.
    std::atomic<int> waiters{0};
    // Forgets a card noticed gone during an operation. Call with `mutex` held.
    void card_gone(CK_SLOT_ID slot);
};

// Where readers come from: PC/SC in the shipped module, the simulator in the test build.
std::unique_ptr<ReaderProvider> make_reader_provider();

CK_RV initialize(CK_VOID_PTR args);
CK_RV finalize(CK_VOID_PTR reserved);
// The current state; throws CKR_CRYPTOKI_NOT_INITIALIZED.
std::shared_ptr<ModuleState> state();

}  // namespace jpki::p11
