// The module's life: C_Initialize / C_Finalize, the state that exists between them, and fork
// safety (a child process sees CKR_CRYPTOKI_NOT_INITIALIZED until it initialises again, and
// never touches the parent's PC/SC handles).
//
// Locks, in the order they may be taken (a thread holding one takes only those below it):
//   1. g_mutex (module.cpp): guards the pointer to the ModuleState only. A std::mutex: it
//      exists before C_Initialize, so before any application callbacks are known.
//   2. ModuleState::mutex: the slot table, the session table, the waiter count. Never held
//      across card I/O or a blocking wait (new cards are identified with it released).
//   3. CardState::mutex(): one card's I/O (a whole card transaction), its certificates and
//      objects. Held for seconds during a signature; never while taking 2.
//   4. Leaf locks, held for a few instructions and never across I/O or another lock:
//      CardState's login lock (logins, kept PINs, PIN counters), the reader provider's
//      internal lock, the trace lock.
//   The reader provider's wait lock is held across a blocking SCardGetStatusChange, by
//   C_WaitForSlotEvent only, with none of 1-3 held.
// Every lock but g_mutex and the trace lock comes from the application's mutex callbacks when
// CK_C_INITIALIZE_ARGS gives them without CKF_OS_LOCKING_OK (MutexFactory).
#pragma once

#include "card/reader_provider.h"
#include "pkcs11/card_identification.h"
#include "pkcs11/mutex.h"
#include "pkcs11/pkcs11.h"
#include "pkcs11/session_table.h"
#include "pkcs11/slot_table.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace jpki::p11 {

// What a C_GetSlotList length query answered.
struct SlotListSnapshot {
    CK_BBOOL token_present;
    std::vector<CK_SLOT_ID> ids;
};

// Which new cards a call identifies (card I/O, with the module lock released): a call about
// one slot never waits for another reader's card.
struct IdentifyCards {
    enum class Scope { None, OneSlot, All };
    Scope scope = Scope::None;
    CK_SLOT_ID slot = 0;

    static IdentifyCards none() { return {}; }
    static IdentifyCards of_slot(CK_SLOT_ID slot) { return {Scope::OneSlot, slot}; }
    static IdentifyCards all() { return {Scope::All, 0}; }
};

struct ModuleState {
    MutexFactory mutexes;
    std::shared_ptr<ReaderProvider> provider;  // shared with identification threads
    Threads threads = Threads::Allowed;
    // Cards being identified (guarded by `mutex`), attached when done by the next refresh.
    std::vector<std::pair<SlotTable::Unidentified, std::shared_ptr<Identification>>> identifying;
    std::unique_ptr<Mutex> mutex;  // lock 2 above
    SlotTable slots;
    SessionTable sessions;
    unsigned fork_generation = 0;
    std::atomic<bool> finalized{false};

    // Refreshes the slot table, closes the sessions of cards that left, and identifies the new
    // cards `which` names. Call with `mutex` held through `lock`: it is released while a card
    // is identified.
    void refresh(std::unique_lock<Mutex>& lock, IdentifyCards which);
    // Attaches the cards whose identification finished. Call with `mutex` held.
    void settle_identifications();
    // How long a call waits for the cards it identifies.
    static constexpr std::chrono::milliseconds kIdentifyWait{2000};

    // C_GetSlotList's answer to a length query, for the call with a buffer right after it.
    std::optional<SlotListSnapshot> slot_list_snapshot;

    // Threads inside C_WaitForSlotEvent (guarded by `mutex`): C_Finalize waits, bounded, until
    // they have left.
    int waiters = 0;
    std::condition_variable_any waiters_left;
    // Forgets a card noticed gone during an operation. Call with `mutex` held.
    void card_gone(CK_SLOT_ID slot);
};

CK_RV initialize(CK_VOID_PTR args);
CK_RV finalize(CK_VOID_PTR reserved);
// The current state; throws CKR_CRYPTOKI_NOT_INITIALIZED.
std::shared_ptr<ModuleState> state();

}  // namespace jpki::p11
