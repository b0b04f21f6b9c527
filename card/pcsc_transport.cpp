#include "card/pcsc_transport.h"

#include "card/card_error.h"

#include <PCSC/pcsclite.h>

namespace jpki {

namespace {

CardErrc errc_from_pcsc(LONG rv) {
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

// Reconnecting after someone else reset the card is bounded: a card that resets forever is
// not usable.
constexpr int kMaxReconnects = 3;

}  // namespace

void throw_pcsc(LONG rv, const char* what) {
    throw CardError(errc_from_pcsc(rv), std::string(what) + ": " + pcsc_stringify_error(rv));
}

PcscContext::PcscContext() {
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx_);
    if (rv != SCARD_S_SUCCESS) {
        ctx_ = 0;
        throw_pcsc(rv, "SCardEstablishContext");
    }
}

PcscContext::~PcscContext() {
    if (ctx_) SCardReleaseContext(ctx_);
}

std::vector<std::string> PcscContext::readers() const {
    std::string buf;
    DWORD len = 0;
    LONG rv = SCARD_E_INSUFFICIENT_BUFFER;
    // A reader plugged in between the two calls makes the buffer too small: ask again (bounded).
    for (int attempt = 0; attempt < 3 && rv == SCARD_E_INSUFFICIENT_BUFFER; ++attempt) {
        len = 0;
        rv = SCardListReaders(ctx_, nullptr, nullptr, &len);
        if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
        if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "SCardListReaders");
        buf.assign(len, '\0');
        rv = SCardListReaders(ctx_, nullptr, buf.data(), &len);
    }
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
    if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "SCardListReaders");
    buf.resize(std::min<std::size_t>(len, buf.size()));
    // A multi-string: names separated by NUL, ended by an empty name.
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < buf.size()) {
        std::size_t end = buf.find('\0', pos);
        if (end == std::string::npos) end = buf.size();
        if (end == pos) break;
        out.emplace_back(buf, pos, end - pos);
        pos = end + 1;
    }
    return out;
}

PcscTransport::PcscTransport(const PcscContext& context, std::string reader)
    : ctx_(context.get()), reader_(std::move(reader)) {
    LONG rv = SCardConnect(ctx_, reader_.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                           &card_, &protocol_);
    if (rv != SCARD_S_SUCCESS) {
        card_ = 0;
        throw_pcsc(rv, "SCardConnect");
    }
    read_atr();
}

PcscTransport::~PcscTransport() {
    if (in_transaction_) end_transaction();
    // Leave the card as it is: other programs may be using it, and no PIN is left verified
    // outside a transaction anyway.
    if (card_) SCardDisconnect(card_, SCARD_LEAVE_CARD);
}

void PcscTransport::read_atr() {
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof atr;
    DWORD state = 0, protocol = 0, name_len = 0;
    LONG rv = SCardStatus(card_, nullptr, &name_len, &state, &protocol, atr, &atr_len);
    if (rv == SCARD_S_SUCCESS) atr_.assign(atr, atr + atr_len);
}

void PcscTransport::reconnect(DWORD disposition) {
    LONG rv = SCardReconnect(card_, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, disposition,
                             &protocol_);
    if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "SCardReconnect");
    was_reset_ = true;
}

void PcscTransport::begin_transaction() {
    for (int attempt = 0;; ++attempt) {
        LONG rv = SCardBeginTransaction(card_);
        if (rv == SCARD_S_SUCCESS) break;
        if (rv != SCARD_W_RESET_CARD || attempt >= kMaxReconnects) throw_pcsc(rv, "SCardBeginTransaction");
        // Someone reset the card: our handle must acknowledge it before it can be used.
        reconnect(SCARD_LEAVE_CARD);
    }
    in_transaction_ = true;
}

void PcscTransport::end_transaction() noexcept {
    if (!in_transaction_) return;
    in_transaction_ = false;
    LONG rv = SCardEndTransaction(card_, SCARD_LEAVE_CARD);
    // Our own reset inside the transaction marks the handle; acknowledge it and end again, so
    // the card lock is never kept.
    if (rv == SCARD_W_RESET_CARD) {
        DWORD protocol = 0;
        if (SCardReconnect(card_, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD,
                           &protocol) == SCARD_S_SUCCESS) {
            protocol_ = protocol;
            SCardEndTransaction(card_, SCARD_LEAVE_CARD);
        }
    }
}

Bytes PcscTransport::transmit(const std::uint8_t* command, std::size_t len) {
    const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    Bytes response(258 + 2);  // short APDUs only: 256 data bytes + SW, with slack
    for (int attempt = 0;; ++attempt) {
        DWORD rlen = static_cast<DWORD>(response.size());
        LONG rv = SCardTransmit(card_, pci, command, static_cast<DWORD>(len), nullptr, response.data(), &rlen);
        if (rv == SCARD_S_SUCCESS) {
            response.resize(rlen);
            return response;
        }
        // A reset between transactions: acknowledge and retry once, but never inside a
        // transaction (the card's state there is what the operation relied on).
        if (rv == SCARD_W_RESET_CARD && !in_transaction_ && attempt < kMaxReconnects) {
            reconnect(SCARD_LEAVE_CARD);
            continue;
        }
        throw_pcsc(rv, "SCardTransmit");
    }
}

void PcscTransport::lock_again(DWORD disposition) {
    try {
        reconnect(disposition);
    } catch (const CardError&) {
        // A failed SCardReconnect leaves our handle marked "reset", so SCardEndTransaction would
        // neither reset nor release. Power the card down on the way out instead (that also ends
        // the transaction), and leave this transport dead: the card must be found again.
        SCardDisconnect(card_, SCARD_UNPOWER_CARD);
        card_ = 0;
        in_transaction_ = false;
        throw CardError(CardErrc::CardRemoved, "card reset failed: card powered down and disconnected");
    }
}

void PcscTransport::reset_card() { lock_again(SCARD_RESET_CARD); }

void PcscTransport::unpower_card() { lock_again(SCARD_UNPOWER_CARD); }

bool PcscTransport::take_reset_flag() noexcept {
    const bool r = was_reset_;
    was_reset_ = false;
    return r;
}

}  // namespace jpki
