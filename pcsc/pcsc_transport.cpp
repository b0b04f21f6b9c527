#include "pcsc/pcsc_transport.h"

#include "pcsc/pcsc_call.h"

namespace jpki {

namespace {
// Reconnecting after someone else reset the card is bounded: a card that resets forever is
// not usable.
constexpr int kMaxReconnects = 3;
constexpr DWORD kProtocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
}  // namespace

PcscTransport::PcscTransport(const PcscContext& context, std::string reader)
    : ctx_(context.get()), reader_(std::move(reader)) {
    SCARDHANDLE card = 0;
    pcsc_check("SCardConnect", SCardConnect(ctx_, reader_.c_str(), SCARD_SHARE_SHARED, kProtocols, &card, &protocol_));
    card_ = card;
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
    pcsc_check("SCardReconnect", SCardReconnect(card_, SCARD_SHARE_SHARED, kProtocols, disposition, &protocol_));
}

void PcscTransport::begin_transaction() {
    for (int attempt = 0;; ++attempt) {
        const LONG rv = pcsc_check("SCardBeginTransaction", SCardBeginTransaction(card_),
                                   attempt < kMaxReconnects ? std::initializer_list<LONG>{SCARD_W_RESET_CARD}
                                                            : std::initializer_list<LONG>{});
        if (rv == SCARD_S_SUCCESS) break;
        // Someone reset the card: our handle must acknowledge it before it can be used.
        reconnect(SCARD_LEAVE_CARD);
        was_reset_ = true;
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
        if (SCardReconnect(card_, SCARD_SHARE_SHARED, kProtocols, SCARD_LEAVE_CARD, &protocol) == SCARD_S_SUCCESS) {
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
        // A reset between transactions: acknowledge and retry, but never inside a transaction
        // (the card's state there is what the operation relied on).
        const bool may_reconnect = !in_transaction_ && attempt < kMaxReconnects;
        const LONG rv = pcsc_check(
            "SCardTransmit", SCardTransmit(card_, pci, command, static_cast<DWORD>(len), nullptr, response.data(), &rlen),
            may_reconnect ? std::initializer_list<LONG>{SCARD_W_RESET_CARD} : std::initializer_list<LONG>{});
        if (rv == SCARD_S_SUCCESS) {
            response.resize(rlen);
            return response;
        }
        reconnect(SCARD_LEAVE_CARD);
        was_reset_ = true;
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
