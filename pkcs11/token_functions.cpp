// C_GetInfo, C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo, C_WaitForSlotEvent.
#include "common/scope_exit.h"
#include "pkcs11/call.h"
#include "pkcs11/functions.h"
#include "pkcs11/module_variant.h"
#include "pkcs11/output.h"
#include "pkcs11/text_field.h"

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace jpki::p11 {

namespace {

// How old a PIN counter may be before C_GetTokenInfo reads it again: a wrong PIN typed in
// another process shows within this time, and no APDU is spent on most calls.
constexpr std::chrono::milliseconds kCounterMaxAge{1000};

const char* model_of(TokenKind kind) {
    switch (kind) {
    case TokenKind::Card: return "My Number Card";
    case TokenKind::JukiCard: return "Juki Card";
    case TokenKind::AndroidSe: return "JPKI Android";
    case TokenKind::IPhone: return "JPKI iPhone";
    case TokenKind::Unknown: break;
    }
    return "JPKI token";
}

}  // namespace

void get_info(CK_INFO_PTR info, CK_VERSION version) {
    state();
    require_args(info != nullptr);
    std::memset(info, 0, sizeof *info);
    info->cryptokiVersion = version;
    set_text(info->manufacturerID, "jpki-pkcs11 project");
    info->flags = 0;
    set_text(info->libraryDescription, module_variant().description);
    info->libraryVersion = {0, 1};
}

void get_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
    auto st = state();
    require_args(count != nullptr);
    std::vector<CK_SLOT_ID> ids;
    {
        std::unique_lock<Mutex> lock(*st->mutex);
        // Every call looks at the readers, except the call with a buffer right after a length
        // query: it answers for the same slots (a card or reader arriving in between would
        // make it fail with CKR_BUFFER_TOO_SMALL, which NSS takes as a failure).
        auto& snapshot = st->slot_list_snapshot;
        if (list && snapshot && snapshot->token_present == token_present) {
            ids = snapshot->ids;
            if (*count >= ids.size()) snapshot.reset();  // used; a too-small buffer may try again
        } else {
            st->refresh(lock, IdentifyCards::all());
            for (const Slot& s : st->slots.slots())
                if (!token_present || st->slots.token_present(s.id)) ids.push_back(s.id);
            if (list) snapshot.reset();
            else snapshot = SlotListSnapshot{token_present, ids};
        }
    }
    copy_out(ids, list, count);
}

void get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
    state();
    require_args(info != nullptr);
    with_slot(slot, SlotNeed::Slot, [&](const SlotCall& c) {
        std::lock_guard<Mutex> lock(*c.st->mutex);
        std::memset(info, 0, sizeof *info);
        set_text(info->slotDescription, c.st->slots.reader_of(c.st->slots.slot(slot)).name);
        set_text(info->manufacturerID, "PC/SC reader");
        info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (c.card ? CKF_TOKEN_PRESENT : 0);
    });
}

void get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
    state();
    require_args(info != nullptr);
    const SlotCall c = slot_call(slot, SlotNeed::Token);
    const TokenRole role = c.role;
    const CK_ULONG sessions = [&] {
        std::lock_guard<Mutex> lock(*c.st->mutex);
        return c.st->sessions.count(slot);
    }();
    const PinRules rules = pin_rules(pin_of(role));
    std::optional<int> tries;
    std::string serial;
    TokenKind kind = TokenKind::Unknown;
    try {
        with_card(*c.st, slot, c.card, [&](CardState& card) {
            tries = card.tries_if_known(role, kCounterMaxAge);
            serial = card.serial();
            kind = card.token_info().kind;
        });
    } catch (const Pkcs11Error& e) {
        if (e.rv() == CKR_DEVICE_REMOVED) fail(CKR_TOKEN_NOT_PRESENT);
        throw;
    }
    std::memset(info, 0, sizeof *info);
    // No ':' in labels: NSS uses them to separate token and object names.
    set_text(info->label, role == TokenRole::Auth ? "JPKI Authentication" : "JPKI Signature");
    set_text(info->manufacturerID, "J-LIS");
    set_text(info->model, model_of(kind));
    set_text(info->serialNumber, serial);
    // No CKF_WRITE_PROTECTED: it would forbid the read-write sessions OpenSSH insists on (see
    // open_session); the token is read-only in fact, every write is refused.
    info->flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
    if (tries && *tries < rules.max_tries) info->flags |= CKF_USER_PIN_COUNT_LOW;
    if (tries == 1) info->flags |= CKF_USER_PIN_FINAL_TRY;
    if (tries == 0) info->flags |= CKF_USER_PIN_LOCKED;
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = sessions;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = CK_UNAVAILABLE_INFORMATION;
    info->ulMaxPinLen = rules.max_length;
    info->ulMinPinLen = rules.min_length;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion = {0, 0};
    info->firmwareVersion = {0, 0};
    std::memset(info->utcTime, ' ', sizeof info->utcTime);
}

constexpr long kEventSliceMs = 500;

CK_RV wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved) {
    auto st = state();
    require_args(!reserved && slot);
    // C_Finalize waits until every waiter has left.
    {
        std::lock_guard<Mutex> lock(*st->mutex);
        ++st->waiters;
    }
    ScopeExit leave([&] {
        try {
            std::lock_guard<Mutex> lock(*st->mutex);
            --st->waiters;
        } catch (...) {  // an application mutex that fails: C_Finalize's wait is bounded
        }
        st->waiters_left.notify_all();
    });
    // Each round either reports an event or blocks until the readers change. New cards are not
    // identified here (card I/O could block this thread where C_Finalize cannot reach it): the
    // next call about their slots does that.
    for (;;) {
        if (st->finalized) return CKR_CRYPTOKI_NOT_INITIALIZED;
        {
            std::unique_lock<Mutex> lock(*st->mutex);
            st->refresh(lock, IdentifyCards::none());
            if (st->finalized) return CKR_CRYPTOKI_NOT_INITIALIZED;
            if (st->slots.pop_event(*slot)) return CKR_OK;
        }
        if (flags & CKF_DONT_BLOCK) return CKR_NO_EVENT;
        try {
            // In slices, so that an event the module queues itself (a token identified late)
            // is reported too; the module lock is not held here.
            st->provider->wait_for_change(kEventSliceMs);
        } catch (const CardError& e) {
            if (e.code() == CardErrc::Cancelled || st->finalized) return CKR_CRYPTOKI_NOT_INITIALIZED;
            // pcscd gone or restarting: not an error for the caller, who keeps waiting; look
            // again shortly (the readers, if any, come back as events).
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    }
}

}  // namespace jpki::p11
