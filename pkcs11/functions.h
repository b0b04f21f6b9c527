// The PKCS#11 functions as the C ABI layer calls them: each throws Pkcs11Error for a CK_RV
// other than CKR_OK. Argument checks live here, not in the C shim.
#pragma once

#include "pkcs11/pkcs11.h"

namespace jpki::p11 {

struct SessionCall;

// General and slot/token management (token_functions.cpp)
// cryptokiVersion: the version of the function list the caller came through.
void get_info(CK_INFO_PTR info, CK_VERSION version);
void get_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
void get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info);
void get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info);
CK_RV wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved);

// Sessions and login (session_functions.cpp)
void open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR session);
void close_session(CK_SESSION_HANDLE session);
void close_all_sessions(CK_SLOT_ID slot);
void get_session_info(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info);
void login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
void logout(CK_SESSION_HANDLE session);
void set_pin(CK_SESSION_HANDLE session, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin,
             CK_ULONG new_len);
// Objects and mechanisms (object_functions.cpp)
void find_objects_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR templ, CK_ULONG count);
void find_objects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count);
void find_objects_final(CK_SESSION_HANDLE session);
// Returns CKR_OK or one of the per-attribute errors (the template is filled either way).
CK_RV get_attribute_value(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR templ, CK_ULONG count);
void get_object_size(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ULONG_PTR size);
void get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
void get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

// Signatures (sign_functions.cpp), verification (verify_functions.cpp), digests
// (digest_functions.cpp)
void sign_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key);
void sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
void sign_update(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len);
void sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
void verify_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key);
void verify(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len);
void verify_update(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len);
void verify_final(CK_SESSION_HANDLE session, CK_BYTE_PTR sig, CK_ULONG sig_len);
void digest_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism);
void digest(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
void digest_update(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len);
void digest_final(CK_SESSION_HANDLE session, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
// No key of this token can be digested (its private key never leaves the card).
void digest_key(CK_SESSION_HANDLE session);
// C_Login(CKU_CONTEXT_SPECIFIC): the PIN for the signature in progress.
void login_context_specific(const SessionCall& call, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);

// For functions the token cannot do (refusals.cpp, object_functions.cpp): checks that the
// module is initialised, the arguments (the C shim says whether they are well-formed), the
// session (or the slot's token, or the object), then throws `rv`.
enum class ArgsValid { No, Yes };
inline ArgsValid args_valid(bool valid) { return valid ? ArgsValid::Yes : ArgsValid::No; }
[[noreturn]] void refuse_for_session(CK_SESSION_HANDLE session, ArgsValid args, CK_RV rv);
[[noreturn]] void refuse_for_token(CK_SLOT_ID slot, ArgsValid args, CK_RV rv);
[[noreturn]] void refuse_for_object(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, ArgsValid args, CK_RV rv);
// C_GenerateKey / C_GenerateKeyPair: CKR_MECHANISM_INVALID unless the mechanism generates such
// keys, then CKR_TOKEN_WRITE_PROTECTED.
enum class KeysMade { Key, Pair };
[[noreturn]] void refuse_key_generation(CK_SESSION_HANDLE session, const CK_MECHANISM* mechanism, ArgsValid args,
                                        KeysMade made);

}  // namespace jpki::p11
