// C_FindObjects*, C_GetAttributeValue, C_GetObjectSize, C_GetMechanismList, C_GetMechanismInfo.
#include "pkcs11/call.h"
#include "pkcs11/functions.h"
#include "pkcs11/objects.h"
#include "pkcs11/output.h"

#include <algorithm>
#include <cstring>

namespace jpki::p11 {

namespace {

// The token's objects as the session may see them: private ones only while logged in.
struct VisibleObjects {
    std::shared_ptr<const std::vector<Object>> all;
    bool user = false;
    bool visible(const Object& o) const { return user || !o.is_private; }
};

VisibleObjects visible_objects(const SessionCall& c) {
    return c.on_card([&](CardState& card) { return VisibleObjects{card.objects(c.role, c.slot), card.logged_in(c.role)}; });
}

const Object& find_visible(const VisibleObjects& objects, CK_OBJECT_HANDLE handle) {
    for (const Object& o : *objects.all)
        if (o.handle == handle && objects.visible(o)) return o;
    fail(CKR_OBJECT_HANDLE_INVALID);
}

bool matches(const Object& o, const CK_ATTRIBUTE* templ, CK_ULONG count) {
    for (CK_ULONG i = 0; i < count; ++i) {
        auto it = o.attributes.find(templ[i].type);
        if (it == o.attributes.end() || o.sensitive.count(templ[i].type)) return false;
        if (it->second.size() != templ[i].ulValueLen) return false;
        if (templ[i].ulValueLen && std::memcmp(it->second.data(), templ[i].pValue, templ[i].ulValueLen) != 0)
            return false;
    }
    return true;
}

}  // namespace

void find_objects_init(CK_SESSION_HANDLE handle, CK_ATTRIBUTE_PTR templ, CK_ULONG count) {
    state();
    require_args(templ || !count);
    for (CK_ULONG i = 0; i < count; ++i) require_args(templ[i].pValue || !templ[i].ulValueLen);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        if (c.on_session([](Session& s) { return s.find != nullptr; })) fail(CKR_OPERATION_ACTIVE);
        auto op = std::make_shared<FindOperation>();
        const VisibleObjects objects = visible_objects(c);
        for (const Object& o : *objects.all)
            if (objects.visible(o) && matches(o, templ, count)) op->matches.push_back(o.handle);
        begin_operation(c, &Session::find, std::move(op));
    });
}

void find_objects(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count) {
    state();
    require_args(out && count);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::find, [&](FindOperation& f) {
            CK_ULONG n = 0;
            while (n < max && f.next < f.matches.size()) out[n++] = f.matches[f.next++];
            *count = n;
            return Operation::Continues;  // until C_FindObjectsFinal
        });
    });
}

void find_objects_final(CK_SESSION_HANDLE handle) {
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        with_operation(c, &Session::find, [](FindOperation&) { return Operation::Ends; });
    });
}

// PKCS#11 2.40 section 5.7, C_GetAttributeValue. For each template entry:
//  1. the attribute is sensitive: ulValueLen = CK_UNAVAILABLE_INFORMATION (CKR_ATTRIBUTE_SENSITIVE);
//  2. the object has no such attribute: ulValueLen = CK_UNAVAILABLE_INFORMATION
//     (CKR_ATTRIBUTE_TYPE_INVALID);
//  3. pValue is NULL: ulValueLen = the value's length;
//  4. pValue is large enough: the value is copied, ulValueLen = its length;
//  5. otherwise ulValueLen = CK_UNAVAILABLE_INFORMATION (CKR_BUFFER_TOO_SMALL).
// Every entry is processed; pValue itself is never written. Of several errors, the one
// returned is SENSITIVE, then TYPE_INVALID, then BUFFER_TOO_SMALL.
CK_RV get_attribute_value(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR templ, CK_ULONG count) {
    state();
    require_args(templ || !count);
    const SessionCall c = session_call(handle, Need::Token);
    const VisibleObjects objects = visible_objects(c);
    const Object& o = find_visible(objects, object);
    bool sensitive = false, invalid = false, too_small = false;
    for (CK_ULONG i = 0; i < count; ++i) {
        CK_ATTRIBUTE& a = templ[i];
        auto it = o.attributes.find(a.type);
        if (it != o.attributes.end() && o.sensitive.count(a.type)) {
            a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            sensitive = true;
        } else if (it == o.attributes.end()) {
            a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            invalid = true;
        } else if (!a.pValue) {
            a.ulValueLen = it->second.size();
        } else if (a.ulValueLen >= it->second.size()) {
            if (!it->second.empty()) std::memcpy(a.pValue, it->second.data(), it->second.size());
            a.ulValueLen = it->second.size();
        } else {
            a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            too_small = true;
        }
    }
    if (sensitive) return CKR_ATTRIBUTE_SENSITIVE;
    if (invalid) return CKR_ATTRIBUTE_TYPE_INVALID;
    if (too_small) return CKR_BUFFER_TOO_SMALL;
    return CKR_OK;
}

void refuse_for_object(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object, ArgsValid args, CK_RV rv) {
    state();
    require_args(args == ArgsValid::Yes);
    const SessionCall c = session_call(handle, Need::Token);
    find_visible(visible_objects(c), object);
    fail(rv);
}

void get_object_size(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object, CK_ULONG_PTR size) {
    state();
    require_args(size != nullptr);
    with_session(handle, Need::Token, [&](const SessionCall& c) {
        find_visible(visible_objects(c), object);
        *size = CK_UNAVAILABLE_INFORMATION;  // the card's objects take no memory the caller could plan for
    });
}

namespace {
// The mechanisms of a slot's token (PSS only while the card's PSS mode is trusted), and its key.
struct SlotMechanisms {
    std::vector<CK_MECHANISM_TYPE> types;
    KeyInfo key;
};

SlotMechanisms slot_mechanisms(CK_SLOT_ID slot) {
    return with_slot(slot, SlotNeed::Token, [&](const SlotCall& c) {
        // with_card: the PSS check may talk to the card, which may have left.
        return with_card(*c.st, slot, c.card, [&](CardState& card) {
            const KeyInfo& key = card.key(c.role);
            return SlotMechanisms{token_mechanisms(key, card.pss_trust()), key};
        });
    });
}
}  // namespace

void get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
    state();
    require_args(count != nullptr);
    copy_out(slot_mechanisms(slot).types, list, count);
}

void get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
    state();
    require_args(info != nullptr);
    const SlotMechanisms mechs = slot_mechanisms(slot);
    const Mechanism* m = find_mechanism(type);
    // Clients (GnuTLS) ask for a mechanism directly instead of reading the list: anything not
    // in this token's list is invalid here too.
    if (!m || std::find(mechs.types.begin(), mechs.types.end(), type) == mechs.types.end())
        fail(CKR_MECHANISM_INVALID);
    std::memset(info, 0, sizeof *info);
    if (m->family == MechFamily::Digest) {
        info->flags = CKF_DIGEST;
        return;
    }
    info->ulMinKeySize = mechs.key.bits;
    info->ulMaxKeySize = mechs.key.bits;
    info->flags = CKF_HW | CKF_SIGN | CKF_VERIFY;
}

}  // namespace jpki::p11
