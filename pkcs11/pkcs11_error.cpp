#include "pkcs11/pkcs11_error.h"

namespace jpki::p11 {

CK_RV rv_for(const CardError& e) noexcept {
    switch (e.code()) {
    case CardErrc::PinIncorrect: return CKR_PIN_INCORRECT;
    case CardErrc::PinBlocked: return CKR_PIN_LOCKED;
    case CardErrc::PinLength: return CKR_PIN_LEN_RANGE;
    case CardErrc::PinCharacters: return CKR_PIN_INVALID;
    case CardErrc::StalePin: return CKR_USER_NOT_LOGGED_IN;
    case CardErrc::SecurityStatusNotSatisfied: return CKR_USER_NOT_LOGGED_IN;
    case CardErrc::NoCard:
    case CardErrc::NoReader:
    case CardErrc::CardRemoved:
    case CardErrc::OtherCard: return CKR_DEVICE_REMOVED;
    case CardErrc::NotJpki: return CKR_TOKEN_NOT_RECOGNIZED;
    case CardErrc::BadArgument: return CKR_ARGUMENTS_BAD;
    case CardErrc::Cancelled: return CKR_FUNCTION_CANCELED;
    case CardErrc::NoService:
    case CardErrc::CardReset:
    case CardErrc::SharingViolation:
    case CardErrc::Timeout:
    case CardErrc::CommunicationError:
    case CardErrc::MalformedResponse:
    case CardErrc::FileNotFound:
    case CardErrc::WrongP1P2:
    case CardErrc::EndOfFile:
    case CardErrc::WrongLength:
    case CardErrc::ConditionsNotSatisfied:
    case CardErrc::CommandNotAllowed:
    case CardErrc::InsNotSupported:
    case CardErrc::ClaNotSupported:
    case CardErrc::UnexpectedStatus: return CKR_DEVICE_ERROR;
    }
    return CKR_DEVICE_ERROR;
}

const char* rv_name(CK_RV rv) noexcept {
    switch (rv) {
#define NAME(x) case x: return #x;
        NAME(CKR_OK) NAME(CKR_CANCEL) NAME(CKR_HOST_MEMORY) NAME(CKR_SLOT_ID_INVALID) NAME(CKR_GENERAL_ERROR)
        NAME(CKR_FUNCTION_FAILED) NAME(CKR_ARGUMENTS_BAD) NAME(CKR_NO_EVENT) NAME(CKR_CANT_LOCK)
        NAME(CKR_ATTRIBUTE_READ_ONLY) NAME(CKR_ATTRIBUTE_SENSITIVE) NAME(CKR_ATTRIBUTE_TYPE_INVALID)
        NAME(CKR_ATTRIBUTE_VALUE_INVALID) NAME(CKR_DATA_INVALID) NAME(CKR_DATA_LEN_RANGE) NAME(CKR_DEVICE_ERROR)
        NAME(CKR_DEVICE_MEMORY) NAME(CKR_DEVICE_REMOVED) NAME(CKR_FUNCTION_CANCELED)
        NAME(CKR_FUNCTION_NOT_PARALLEL) NAME(CKR_FUNCTION_NOT_SUPPORTED) NAME(CKR_KEY_HANDLE_INVALID)
        NAME(CKR_KEY_TYPE_INCONSISTENT) NAME(CKR_KEY_FUNCTION_NOT_PERMITTED) NAME(CKR_MECHANISM_INVALID)
        NAME(CKR_MECHANISM_PARAM_INVALID) NAME(CKR_OBJECT_HANDLE_INVALID) NAME(CKR_OPERATION_ACTIVE)
        NAME(CKR_OPERATION_NOT_INITIALIZED) NAME(CKR_PIN_INCORRECT) NAME(CKR_PIN_INVALID)
        NAME(CKR_PIN_LEN_RANGE) NAME(CKR_PIN_LOCKED) NAME(CKR_SESSION_CLOSED) NAME(CKR_SESSION_COUNT)
        NAME(CKR_SESSION_HANDLE_INVALID) NAME(CKR_SESSION_PARALLEL_NOT_SUPPORTED) NAME(CKR_SESSION_READ_ONLY)
        NAME(CKR_SESSION_EXISTS) NAME(CKR_SIGNATURE_INVALID) NAME(CKR_SIGNATURE_LEN_RANGE)
        NAME(CKR_TEMPLATE_INCOMPLETE) NAME(CKR_TEMPLATE_INCONSISTENT) NAME(CKR_TOKEN_NOT_PRESENT)
        NAME(CKR_TOKEN_NOT_RECOGNIZED) NAME(CKR_TOKEN_WRITE_PROTECTED) NAME(CKR_USER_ALREADY_LOGGED_IN)
        NAME(CKR_USER_NOT_LOGGED_IN) NAME(CKR_USER_PIN_NOT_INITIALIZED) NAME(CKR_USER_TYPE_INVALID)
        NAME(CKR_BUFFER_TOO_SMALL) NAME(CKR_CRYPTOKI_NOT_INITIALIZED) NAME(CKR_CRYPTOKI_ALREADY_INITIALIZED)
        NAME(CKR_MUTEX_BAD) NAME(CKR_MUTEX_NOT_LOCKED) NAME(CKR_FUNCTION_REJECTED) NAME(CKR_RANDOM_NO_RNG)
        NAME(CKR_RANDOM_SEED_NOT_SUPPORTED) NAME(CKR_STATE_UNSAVEABLE) NAME(CKR_SAVED_STATE_INVALID)
#undef NAME
    default: return "CKR_(other)";
    }
}

}  // namespace jpki::p11
