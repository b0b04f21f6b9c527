#include "pkcs11/key_lookup.h"

#include <algorithm>

namespace jpki::p11 {

const Mechanism& key_mechanism(CardState& card, TokenRole role, const CK_MECHANISM& mechanism) {
    const Mechanism* m = find_mechanism(mechanism.mechanism);
    const auto offered = signature_mechanisms(card.key(role), card.pss_trust());
    if (!m || std::find(offered.begin(), offered.end(), m->type) == offered.end()) fail(CKR_MECHANISM_INVALID);
    if (is_pss(*m)) check_pss_params(mechanism);
    return *m;
}

void require_key(const SessionCall& c, CardState& card, CK_OBJECT_HANDLE key, ObjectKind kind) {
    CK_SLOT_ID slot;
    ObjectKind found;
    if (!decode_handle(key, slot, found) || slot != c.slot) fail(CKR_KEY_HANDLE_INVALID);
    const auto objects = card.objects(c.role, c.slot);
    const auto it = std::find_if(objects->begin(), objects->end(), [&](const Object& o) { return o.handle == key; });
    if (it == objects->end()) fail(CKR_KEY_HANDLE_INVALID);
    if (it->is_private && !card.logged_in(c.role)) fail(CKR_USER_NOT_LOGGED_IN);
    if (it->kind == kind) return;
    const bool other_key = it->kind == ObjectKind::PublicKey || it->kind == ObjectKind::PrivateKey;
    fail(other_key ? CKR_KEY_FUNCTION_NOT_PERMITTED : CKR_KEY_HANDLE_INVALID);
}

}  // namespace jpki::p11
