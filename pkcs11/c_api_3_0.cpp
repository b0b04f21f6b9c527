// PKCS#11 3.0: C_GetInterfaceList and C_GetInterface, offering "PKCS 11" 3.0 (the default)
// and 2.40. The 3.0 list adds functions this token cannot do (message-based encryption and
// signing, C_LoginUser, C_SessionCancel): they answer CKR_FUNCTION_NOT_SUPPORTED. Neither
// interface carries CKF_INTERFACE_FORK_SAFE: a forked child must initialise the module again.
// Neither function needs C_Initialize, and neither ever answers CKR_OK without an interface.
#include "pkcs11/function_lists.h"
#include "pkcs11/functions.h"
#include "pkcs11/guarded.h"

#include <cstring>
#include <optional>
#include <string>

#define JPKI_EXPORT extern "C" __attribute__((visibility("default")))

using namespace jpki::p11;

JPKI_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
JPKI_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR found,
                                 CK_FLAGS flags);

namespace {

CK_RV get_info_3_0(CK_INFO_PTR info) { return guarded("C_GetInfo", [&] { get_info(info, {3, 0}); }); }

CK_RV login_user(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR, CK_ULONG) {
    return CKR_FUNCTION_NOT_SUPPORTED;
}
CK_RV session_cancel(CK_SESSION_HANDLE, CK_FLAGS) { return CKR_FUNCTION_NOT_SUPPORTED; }
CK_RV message_init(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) { return CKR_FUNCTION_NOT_SUPPORTED; }
CK_RV crypt_message(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                    CK_ULONG_PTR) {
    return CKR_FUNCTION_NOT_SUPPORTED;
}
CK_RV crypt_message_begin(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG) {
    return CKR_FUNCTION_NOT_SUPPORTED;
}
CK_RV crypt_message_next(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR,
                         CK_FLAGS) {
    return CKR_FUNCTION_NOT_SUPPORTED;
}
CK_RV message_final(CK_SESSION_HANDLE) { return CKR_FUNCTION_NOT_SUPPORTED; }
CK_RV sign_message(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR) {
    return CKR_FUNCTION_NOT_SUPPORTED;
}
CK_RV sign_message_begin(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG) { return CKR_FUNCTION_NOT_SUPPORTED; }
CK_RV verify_message(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG) {
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_FUNCTION_LIST_3_0 g_function_list_3_0 = {
    {3, 0}, C_Initialize, C_Finalize, get_info_3_0, JPKI_FUNCTIONS_AFTER_GET_INFO,
    C_GetInterfaceList, C_GetInterface, login_user, session_cancel,
    message_init, crypt_message, crypt_message_begin, crypt_message_next, message_final,  // encrypt
    message_init, crypt_message, crypt_message_begin, crypt_message_next, message_final,  // decrypt
    message_init, sign_message, sign_message_begin, sign_message, message_final,          // sign
    message_init, verify_message, sign_message_begin, verify_message, message_final,      // verify
};

CK_CHAR g_name[] = "PKCS 11";
// The default first.
CK_INTERFACE g_interfaces[] = {
    {g_name, &g_function_list_3_0, 0},
    {g_name, &jpki_function_list_2_40, 0},
};
constexpr CK_ULONG kInterfaceCount = sizeof g_interfaces / sizeof g_interfaces[0];

const CK_VERSION& version_of(const CK_INTERFACE& i) { return *static_cast<const CK_VERSION*>(i.pFunctionList); }

// Which list a client took (the trace shows whether it came through 3.0 or 2.40).
void trace_interface(const char* what, std::optional<CK_VERSION> version) noexcept {
    if (!jpki::trace_enabled()) return;
    try {
        std::string line = what;
        if (version) line += ": PKCS 11 " + std::to_string(version->major) + "." + std::to_string(version->minor);
        jpki::trace_line(line);
    } catch (...) {
    }
}

}  // namespace

JPKI_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count) {
    if (!count) return CKR_ARGUMENTS_BAD;
    if (!list) {
        *count = kInterfaceCount;
        return CKR_OK;
    }
    if (*count < kInterfaceCount) {
        *count = kInterfaceCount;
        return CKR_BUFFER_TOO_SMALL;
    }
    std::memcpy(list, g_interfaces, sizeof g_interfaces);
    *count = kInterfaceCount;
    return CKR_OK;
}

// The first interface with that name (any, if NULL) and version (any, if NULL) that has every
// flag asked for; none: CKR_ARGUMENTS_BAD, as PKCS#11 3.0 says.
JPKI_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR found,
                                 CK_FLAGS flags) {
    if (!found) return CKR_ARGUMENTS_BAD;
    for (CK_INTERFACE& i : g_interfaces) {
        if (name && std::strcmp(reinterpret_cast<const char*>(name), reinterpret_cast<const char*>(i.pInterfaceName)))
            continue;
        if (version && (version->major != version_of(i).major || version->minor != version_of(i).minor)) continue;
        if ((i.flags & flags) != flags) continue;
        *found = &i;
        trace_interface("C_GetInterface -> CKR_OK", version_of(i));
        return CKR_OK;
    }
    trace_interface("C_GetInterface -> CKR_ARGUMENTS_BAD", std::nullopt);
    return CKR_ARGUMENTS_BAD;
}
