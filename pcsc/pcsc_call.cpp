#include "pcsc/pcsc_call.h"

#include <PCSC/pcsclite.h>

#include <string>

namespace jpki {

CardErrc errc_from_pcsc(LONG rv) noexcept {
    switch (rv) {
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
    case SCARD_E_INVALID_HANDLE:  // pcscd restarted: every handle from before is void
        return CardErrc::NoService;
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_NO_READERS_AVAILABLE: return CardErrc::NoReader;
    case SCARD_E_NO_SMARTCARD: return CardErrc::NoCard;
    case SCARD_W_REMOVED_CARD: return CardErrc::CardRemoved;
    case SCARD_W_RESET_CARD: return CardErrc::CardReset;
    case SCARD_E_SHARING_VIOLATION: return CardErrc::SharingViolation;
    case SCARD_E_CANCELLED: return CardErrc::Cancelled;
    case SCARD_E_TIMEOUT: return CardErrc::Timeout;
    default: return CardErrc::CommunicationError;
    }
}

void throw_pcsc(LONG rv, const char* call) {
    throw CardError(errc_from_pcsc(rv), std::string(call) + ": " + pcsc_stringify_error(rv));
}

}  // namespace jpki
