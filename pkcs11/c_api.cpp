// The C ABI: every PKCS#11 2.40 function, each a one-line call into the C++ module that
// catches every exception and returns a CK_RV (guarded.h). The 3.0 interfaces are in
// c_api_3_0.cpp. Only these symbols are exported
// (pkcs11/exports.map, -fvisibility=hidden). Arguments are never traced (a PIN is one).
#include "common/trace.h"
#include "pkcs11/function_lists.h"
#include "pkcs11/functions.h"
#include "pkcs11/module.h"
#include "pkcs11/guarded.h"

#define JPKI_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using namespace jpki::p11;

// A function the tokens only refuse: the module initialised, the arguments well-formed and the
// session valid, then `rv` (CKR_TOKEN_WRITE_PROTECTED for anything that would create, change or
// destroy an object).
CK_RV refuse(const char* name, CK_SESSION_HANDLE h, bool args_ok, CK_RV rv) {
    return guarded(name, [&] { refuse_for_session(h, args_valid(args_ok), rv); });
}
CK_RV refuse_object(const char* name, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, bool args_ok, CK_RV rv) {
    return guarded(name, [&] { refuse_for_object(h, o, args_valid(args_ok), rv); });
}
// Input and output buffers: data may be NULL only when empty; the output length is required.
bool io_ok(const void* in, CK_ULONG in_len, const CK_ULONG* out_len) { return (in || !in_len) && out_len; }
bool template_ok(const CK_ATTRIBUTE* t, CK_ULONG n) { return t || !n; }

}  // namespace

// --- general -------------------------------------------------------------------------------
JPKI_EXPORT CK_RV C_Initialize(CK_VOID_PTR args) {
    return guarded_rv("C_Initialize", [&] { return initialize(args); });
}
JPKI_EXPORT CK_RV C_Finalize(CK_VOID_PTR reserved) {
    return guarded_rv("C_Finalize", [&] { return finalize(reserved); });
}
JPKI_EXPORT CK_RV C_GetInfo(CK_INFO_PTR info) { return guarded("C_GetInfo", [&] { get_info(info, {2, 40}); }); }
JPKI_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
    if (!list) return CKR_ARGUMENTS_BAD;
    *list = &jpki_function_list_2_40;
    if (jpki::trace_enabled()) {
        try {
            jpki::trace_line("C_GetFunctionList -> CKR_OK: PKCS 11 2.40");
        } catch (...) {
        }
    }
    return CKR_OK;
}

// --- slots and tokens ----------------------------------------------------------------------
JPKI_EXPORT CK_RV C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
    return guarded("C_GetSlotList", [&] { get_slot_list(present, list, count); });
}
JPKI_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
    return guarded("C_GetSlotInfo", [&] { get_slot_info(slot, info); });
}
JPKI_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
    return guarded("C_GetTokenInfo", [&] { get_token_info(slot, info); });
}
JPKI_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved) {
    return guarded_rv("C_WaitForSlotEvent", [&] { return wait_for_slot_event(flags, slot, reserved); });
}
JPKI_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
    return guarded("C_GetMechanismList", [&] { get_mechanism_list(slot, list, count); });
}
JPKI_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info) {
    return guarded("C_GetMechanismInfo", [&] { get_mechanism_info(slot, type, info); });
}
JPKI_EXPORT CK_RV C_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label) {
    return guarded("C_InitToken",
                   [&] { refuse_for_token(slot, args_valid(label && (pin || !len)), CKR_TOKEN_WRITE_PROTECTED); });
}
// C_InitPIN needs the security officer, which the card has not: a blocked PIN is reset at the
// municipal office only.
JPKI_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
    return refuse("C_InitPIN", h, pin || !len, CKR_USER_NOT_LOGGED_IN);
}
JPKI_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin,
                           CK_ULONG new_len) {
    return guarded("C_SetPIN", [&] { set_pin(h, old_pin, old_len, new_pin, new_len); });
}

// --- sessions ------------------------------------------------------------------------------
JPKI_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR, CK_NOTIFY, CK_SESSION_HANDLE_PTR session) {
    // pApplication and Notify are accepted; the module makes no callbacks.
    return guarded("C_OpenSession", [&] { open_session(slot, flags, session); });
}
JPKI_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE h) { return guarded("C_CloseSession", [&] { close_session(h); }); }
JPKI_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slot) {
    return guarded("C_CloseAllSessions", [&] { close_all_sessions(slot); });
}
JPKI_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info) {
    return guarded("C_GetSessionInfo", [&] { get_session_info(h, info); });
}
JPKI_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR, CK_ULONG_PTR len) {
    return refuse("C_GetOperationState", h, len != nullptr, CKR_FUNCTION_NOT_SUPPORTED);
}
JPKI_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR saved, CK_ULONG len, CK_OBJECT_HANDLE,
                                      CK_OBJECT_HANDLE) {
    return refuse("C_SetOperationState", h, saved && len, CKR_FUNCTION_NOT_SUPPORTED);
}
JPKI_EXPORT CK_RV C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
    return guarded("C_Login", [&] { login(h, user, pin, len); });
}
JPKI_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE h) { return guarded("C_Logout", [&] { logout(h); }); }

// --- objects -------------------------------------------------------------------------------
JPKI_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR made) {
    return refuse("C_CreateObject", h, template_ok(t, n) && made, CKR_TOKEN_WRITE_PROTECTED);
}
JPKI_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                               CK_OBJECT_HANDLE_PTR made) {
    return refuse_object("C_CopyObject", h, o, template_ok(t, n) && made, CKR_TOKEN_WRITE_PROTECTED);
}
JPKI_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o) {
    return refuse_object("C_DestroyObject", h, o, true, CKR_TOKEN_WRITE_PROTECTED);
}
JPKI_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ULONG_PTR size) {
    return guarded("C_GetObjectSize", [&] { get_object_size(h, obj, size); });
}
JPKI_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
    return guarded_rv("C_GetAttributeValue", [&] { return get_attribute_value(h, obj, t, n); });
}
JPKI_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
    return refuse_object("C_SetAttributeValue", h, o, template_ok(t, n), CKR_TOKEN_WRITE_PROTECTED);
}
JPKI_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
    return guarded("C_FindObjectsInit", [&] { find_objects_init(h, t, n); });
}
JPKI_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count) {
    return guarded("C_FindObjects", [&] { find_objects(h, out, max, count); });
}
JPKI_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE h) {
    return guarded("C_FindObjectsFinal", [&] { find_objects_final(h); });
}

// --- encryption and decryption: the card's keys do neither ---------------------------------
JPKI_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE) {
    return refuse("C_EncryptInit", h, m != nullptr, CKR_MECHANISM_INVALID);
}
JPKI_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_Encrypt", h, io_ok(in, n, out_len), CKR_OPERATION_NOT_INITIALIZED);
}
JPKI_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_EncryptUpdate", h, io_ok(in, n, out_len), CKR_OPERATION_NOT_INITIALIZED);
}
JPKI_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_EncryptFinal", h, out_len != nullptr, CKR_OPERATION_NOT_INITIALIZED);
}
JPKI_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE) {
    return refuse("C_DecryptInit", h, m != nullptr, CKR_MECHANISM_INVALID);
}
JPKI_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_Decrypt", h, io_ok(in, n, out_len), CKR_OPERATION_NOT_INITIALIZED);
}
JPKI_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_DecryptUpdate", h, io_ok(in, n, out_len), CKR_OPERATION_NOT_INITIALIZED);
}
JPKI_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_DecryptFinal", h, out_len != nullptr, CKR_OPERATION_NOT_INITIALIZED);
}

// --- digests (software) --------------------------------------------------------------------
JPKI_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m) {
    return guarded("C_DigestInit", [&] { digest_init(h, m); });
}
JPKI_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR out, CK_ULONG_PTR len) {
    return guarded("C_Digest", [&] { digest(h, d, n, out, len); });
}
JPKI_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n) {
    return guarded("C_DigestUpdate", [&] { digest_update(h, d, n); });
}
JPKI_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE) {
    return guarded("C_DigestKey", [&] { digest_key(h); });
}
JPKI_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR len) {
    return guarded("C_DigestFinal", [&] { digest_final(h, out, len); });
}

// --- signatures (on the card) and verification (software) ----------------------------------
JPKI_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key) {
    return guarded("C_SignInit", [&] { sign_init(h, m, key); });
}
JPKI_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR sig, CK_ULONG_PTR len) {
    return guarded("C_Sign", [&] { sign(h, d, n, sig, len); });
}
JPKI_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n) {
    return guarded("C_SignUpdate", [&] { sign_update(h, d, n); });
}
JPKI_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR len) {
    return guarded("C_SignFinal", [&] { sign_final(h, sig, len); });
}
JPKI_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE) {
    return refuse("C_SignRecoverInit", h, m != nullptr, CKR_MECHANISM_INVALID);
}
JPKI_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_SignRecover", h, io_ok(in, n, out_len), CKR_OPERATION_NOT_INITIALIZED);
}
JPKI_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key) {
    return guarded("C_VerifyInit", [&] { verify_init(h, m, key); });
}
JPKI_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR sig, CK_ULONG len) {
    return guarded("C_Verify", [&] { verify(h, d, n, sig, len); });
}
JPKI_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n) {
    return guarded("C_VerifyUpdate", [&] { verify_update(h, d, n); });
}
JPKI_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG len) {
    return guarded("C_VerifyFinal", [&] { verify_final(h, sig, len); });
}
JPKI_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE) {
    return refuse("C_VerifyRecoverInit", h, m != nullptr, CKR_MECHANISM_INVALID);
}
JPKI_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_VerifyRecover", h, io_ok(in, n, out_len), CKR_OPERATION_NOT_INITIALIZED);
}

// --- dual-function operations: none of them apply ------------------------------------------
JPKI_EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_DigestEncryptUpdate", h, io_ok(in, n, out_len), CKR_FUNCTION_NOT_SUPPORTED);
}
JPKI_EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_DecryptDigestUpdate", h, io_ok(in, n, out_len), CKR_FUNCTION_NOT_SUPPORTED);
}
JPKI_EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_SignEncryptUpdate", h, io_ok(in, n, out_len), CKR_FUNCTION_NOT_SUPPORTED);
}
JPKI_EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG n, CK_BYTE_PTR, CK_ULONG_PTR out_len) {
    return refuse("C_DecryptVerifyUpdate", h, io_ok(in, n, out_len), CKR_FUNCTION_NOT_SUPPORTED);
}

// --- keys: a read-only token makes none ----------------------------------------------------
JPKI_EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                                CK_OBJECT_HANDLE_PTR key) {
    return guarded("C_GenerateKey", [&] { refuse_key_generation(h, m, args_valid(template_ok(t, n) && key), KeysMade::Key); });
}
JPKI_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub_t, CK_ULONG pub_n,
                                    CK_ATTRIBUTE_PTR priv_t, CK_ULONG priv_n, CK_OBJECT_HANDLE_PTR pub,
                                    CK_OBJECT_HANDLE_PTR priv) {
    const bool ok = template_ok(pub_t, pub_n) && template_ok(priv_t, priv_n) && pub && priv;
    return guarded("C_GenerateKeyPair", [&] { refuse_key_generation(h, m, args_valid(ok), KeysMade::Pair); });
}
JPKI_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, CK_BYTE_PTR,
                            CK_ULONG_PTR len) {
    return refuse("C_WrapKey", h, m && len, CKR_MECHANISM_INVALID);
}
// No key of these tokens unwraps or derives.
JPKI_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE, CK_BYTE_PTR wrapped,
                              CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR key) {
    return refuse("C_UnwrapKey", h, m && wrapped && wrapped_len && template_ok(t, n) && key, CKR_MECHANISM_INVALID);
}
JPKI_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                              CK_OBJECT_HANDLE_PTR key) {
    return refuse("C_DeriveKey", h, m && template_ok(t, n) && key, CKR_MECHANISM_INVALID);
}

// --- random numbers: not offered -----------------------------------------------------------
JPKI_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len) {
    return refuse("C_SeedRandom", h, seed || !len, CKR_RANDOM_NO_RNG);
}
JPKI_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len) {
    return refuse("C_GenerateRandom", h, out || !len, CKR_RANDOM_NO_RNG);
}

// --- legacy parallel functions -------------------------------------------------------------
JPKI_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE h) {
    return refuse("C_GetFunctionStatus", h, true, CKR_FUNCTION_NOT_PARALLEL);
}
JPKI_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE h) {
    return refuse("C_CancelFunction", h, true, CKR_FUNCTION_NOT_PARALLEL);
}

// The 2.40 list (C_GetFunctionList, and the "PKCS 11" 2.40 interface).
__attribute__((visibility("hidden"))) CK_FUNCTION_LIST jpki_function_list_2_40 = {{2, 40}, C_Initialize, C_Finalize, C_GetInfo, JPKI_FUNCTIONS_AFTER_GET_INFO};
