// Transport over pcsc-lite: one shared connection to one reader's card (T=0 or T=1),
// transactions with SCardBeginTransaction, reconnect on SCARD_W_RESET_CARD, and card reset
// with SCardReconnect(SCARD_RESET_CARD).
#pragma once

#include "card/transport.h"
#include "pcsc/pcsc_context.h"

#include <PCSC/winscard.h>

#include <string>

namespace jpki {

class PcscTransport : public Transport {
public:
    // Connects (shared) to the card in `reader`; throws CardError (NoCard, NoReader, ...).
    PcscTransport(const PcscContext& context, std::string reader);
    ~PcscTransport() override;
    PcscTransport(const PcscTransport&) = delete;  // owns an SCARDHANDLE
    PcscTransport& operator=(const PcscTransport&) = delete;

    Bytes transmit(const std::uint8_t* command, std::size_t len) override;
    void begin_transaction() override;
    void end_transaction() noexcept override;
    void reset_card() override;
    void unpower_card() override;
    bool take_reset_flag() noexcept override;
    Bytes atr() const override { return atr_; }

    const std::string& reader() const { return reader_; }
    // Forgets the card handle without disconnecting (forked child).
    void abandon() noexcept { card_ = 0; }

private:
    // SCardReconnect; `disposition` LEAVE acknowledges a reset by someone else.
    void reconnect(DWORD disposition);
    void lock_again(DWORD disposition);
    void read_atr();

    SCARDCONTEXT ctx_;
    std::string reader_;
    SCARDHANDLE card_ = 0;
    DWORD protocol_ = 0;
    Bytes atr_;
    bool was_reset_ = false;
    bool in_transaction_ = false;
};

}  // namespace jpki
