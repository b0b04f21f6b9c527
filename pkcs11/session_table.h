// Open sessions: handles are never reused while the module lives; each session remembers its
// slot and which card insertion it was opened on.
#pragma once

#include "pkcs11/operations.h"
#include "pkcs11/pkcs11.h"

#include <map>
#include <memory>
#include <vector>

namespace jpki::p11 {

class CardState;

struct Session {
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slot;
    CK_FLAGS flags;
    std::weak_ptr<CardState> card;  // expired once the card left
    std::shared_ptr<FindOperation> find;
    std::shared_ptr<SignOperation> sign;
    std::shared_ptr<VerifyOperation> verify;
    std::shared_ptr<DigestOperation> digest;
};

class SessionTable {
public:
    CK_SESSION_HANDLE open(CK_SLOT_ID slot, CK_FLAGS flags, std::weak_ptr<CardState> card);
    // Ends every session's search and operations on a slot (its login state changed).
    void reset_operations(CK_SLOT_ID slot);
    // Throws CKR_SESSION_HANDLE_INVALID.
    Session& get(CK_SESSION_HANDLE handle);
    // Returns false when there was no such session.
    bool close(CK_SESSION_HANDLE handle);
    void close_slot(CK_SLOT_ID slot);
    std::size_t count(CK_SLOT_ID slot) const;
    void clear() { sessions_.clear(); }

private:
    std::map<CK_SESSION_HANDLE, Session> sessions_;
};

}  // namespace jpki::p11
