#include "pkcs11/module.h"

#include "card/card_error.h"
#include "common/trace.h"
#include "pkcs11/pkcs11_error.h"

#include <dlfcn.h>
#include <pthread.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

namespace jpki::p11 {

namespace {

// Both live forever (never destroyed): a client may call C_* functions from its own exit
// handlers after this library's static destructors would have run (libp11's engine does, from
// OpenSSL's cleanup). The state itself is released by C_Finalize.
std::mutex& g_mutex = *new std::mutex;  // guards g_state; held only to copy or swap the pointer
std::shared_ptr<ModuleState>& g_state = *new std::shared_ptr<ModuleState>;
std::atomic<unsigned> g_fork_generation{0};
std::once_flag g_atfork_once;

// Fork handlers only count: the child finds out at its next call. Its secrets are already
// wiped by then (common/secret_vault.h wipes them in its own atfork handler).
void before_fork() { g_mutex.lock(); }
void after_fork_parent() { g_mutex.unlock(); }
void after_fork_child() {
    g_fork_generation.fetch_add(1);
    g_mutex.unlock();
}

// In a forked child: wipe the PINs the child inherited, then leak the parent's state on
// purpose, so that no destructor releases the PC/SC handles the parent still uses. The child
// is single-threaded here, so the unlocked walk is safe.
void abandon_inherited_locked() {
    if (!g_state) return;
    for (const Slot& s : g_state->slots.slots())
        if (auto& card = g_state->slots.reader_of(s).card) card->wipe_in_child();
    g_state->sessions.clear();  // operations hold per-signature PINs; no PC/SC handle in them
    g_state->provider->abandon();
    new std::shared_ptr<ModuleState>(std::move(g_state));  // NOLINT: deliberate leak
    g_state.reset();
}

// Makes a later dlclose() leave this library mapped (RTLD_NODELETE).
void keep_module_loaded() noexcept {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&keep_module_loaded), &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    trace_line("C_Finalize: a thread is still in the module; it stays loaded");
}

bool stale_locked() { return g_state && g_state->fork_generation != g_fork_generation.load(); }

}  // namespace

void ModuleState::refresh(std::unique_lock<Mutex>& lock, IdentifyCards which) {
    for (CK_SLOT_ID gone : slots.refresh(*provider)) sessions.close_slot(gone);
    settle_identifications();
    if (which.scope == IdentifyCards::Scope::None) return;
    std::optional<std::size_t> only_reader;
    if (which.scope == IdentifyCards::Scope::OneSlot) {
        if (which.slot >= slots.slots().size()) return;  // the caller reports the bad slot
        only_reader = slots.slots()[which.slot].reader;
    }
    // New cards: each identified once. Every call about its reader, whichever thread started
    // it, waits for it with the module lock released, until a bounded time after it began; a
    // card not done by then shows without a token, and is attached by a later call, with a
    // slot event.
    for (const SlotTable::Unidentified& u : slots.take_unidentified(only_reader)) {
        auto id = std::make_shared<Identification>();
        identifying.push_back({u, id});  // before the lock is released: other calls wait for it too
        lock.unlock();
        Identification::begin(id, provider, u.name, u.card_events, mutexes.maker(), threads);
        lock.lock();
    }
    std::vector<std::shared_ptr<Identification>> awaited;
    for (const auto& [u, id] : identifying)
        if (!only_reader || u.reader == *only_reader) awaited.push_back(id);
    if (awaited.empty()) return;
    lock.unlock();
    for (const auto& id : awaited) id->wait_until(id->started() + kIdentifyWait);
    lock.lock();
    settle_identifications();
}

void ModuleState::settle_identifications() {
    for (auto it = identifying.begin(); it != identifying.end();) {
        if (!it->second->done()) {
            ++it;
            continue;
        }
        Identification::Result r = it->second->take();
        if (r.transient) slots.retry_later(it->first);
        else slots.attach(it->first, std::move(r.card));
        it = identifying.erase(it);
    }
}

void ModuleState::card_gone(CK_SLOT_ID slot) {
    for (CK_SLOT_ID gone : slots.drop_card(slots.slot(slot).reader)) sessions.close_slot(gone);
}

CK_RV initialize(CK_VOID_PTR args) {
    std::call_once(g_atfork_once, [] { pthread_atfork(before_fork, after_fork_parent, after_fork_child); });
    MutexFactory mutexes;
    Threads threads = Threads::Allowed;
    if (args) {
        const auto* a = static_cast<const CK_C_INITIALIZE_ARGS*>(args);
        if (a->pReserved) return CKR_ARGUMENTS_BAD;
        const int given = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
        if (given != 0 && given != 4) return CKR_ARGUMENTS_BAD;
        // With CKF_OS_LOCKING_OK native locks are fine; callbacks alone must be used.
        if (given == 4 && !(a->flags & CKF_OS_LOCKING_OK)) mutexes = MutexFactory(*a);
        // Threads of our own only where the application allows them and native locks.
        if ((a->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS) || (given == 4 && !(a->flags & CKF_OS_LOCKING_OK)))
            threads = Threads::NotAllowed;
    }
    auto initialized = [] {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (stale_locked()) abandon_inherited_locked();
        return g_state != nullptr;
    };
    if (initialized()) return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    auto st = std::make_shared<ModuleState>();
    st->mutexes = mutexes;
    st->mutex = mutexes.make();
    st->fork_generation = g_fork_generation.load();
    st->threads = threads;
    st->provider = make_reader_provider(mutexes.maker());
    // The readers and cards there now are where the application starts, not slot events:
    // C_WaitForSlotEvent reports what changes after this call (no card is identified here).
    st->slots.refresh(*st->provider);
    st->slots.forget_events();
    std::lock_guard<std::mutex> lock(g_mutex);
    if (stale_locked()) abandon_inherited_locked();
    if (g_state) return CKR_CRYPTOKI_ALREADY_INITIALIZED;  // another thread was quicker
    g_state = std::move(st);
    return CKR_OK;
}

CK_RV finalize(CK_VOID_PTR reserved) {
    if (reserved) return CKR_ARGUMENTS_BAD;
    std::shared_ptr<ModuleState> st;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (stale_locked()) {
            abandon_inherited_locked();  // a child finalizing what it inherited: nothing to touch
            return CKR_OK;
        }
        if (!g_state) return CKR_CRYPTOKI_NOT_INITIALIZED;
        st = std::move(g_state);
    }
    st->finalized = true;
    st->provider->cancel();  // wakes C_WaitForSlotEvent, which then answers NOT_INITIALIZED
    std::unique_lock<Mutex> lock(*st->mutex);
    // Let the waiters leave before returning (the caller may unload the library next). A
    // waiter sees the cancel within one wait slice; the bound is for a wait stuck in pcscd.
    const bool waiters_left =
        st->waiters_left.wait_for(lock, std::chrono::seconds(5), [&] { return st->waiters == 0; });
    st->identifying.clear();
    st->sessions.clear();
    for (const Slot& s : st->slots.slots())
        if (auto& card = st->slots.reader_of(s).card) card->wipe();
    lock.unlock();
    // A thread still in our code (a waiter stuck in pcscd, a card identification held up by
    // another program's transaction) must not see the library unloaded under it.
    if (!waiters_left || !wait_for_identifications(std::chrono::seconds(5))) keep_module_loaded();
    return CKR_OK;
}

std::shared_ptr<ModuleState> state() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (stale_locked()) abandon_inherited_locked();
    if (!g_state) fail(CKR_CRYPTOKI_NOT_INITIALIZED);
    return g_state;
}

}  // namespace jpki::p11
