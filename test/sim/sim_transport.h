// The in-process Transport: the card layer talks to a JpkiCard object directly, with PC/SC's
// behaviour for removal and for resets done by someone else.
#pragma once

#include "card/transport.h"
#include "test/sim/jpki_card.h"

namespace jpki::sim {

class SimTransport : public Transport {
public:
    explicit SimTransport(JpkiCard& card);

    Bytes transmit(const std::uint8_t* command, std::size_t len) override;
    void begin_transaction() override;
    void end_transaction() noexcept override;
    void reset_card() override;
    void unpower_card() override;
    bool take_reset_flag() noexcept override;
    Bytes atr() const override { return JpkiCard::atr(); }

    int transactions_begun() const { return begun_; }
    bool in_transaction() const { return depth_ > 0; }
    int own_resets() const { return own_resets_; }

private:
    void notice_foreign_reset();

    JpkiCard& card_;
    unsigned seen_resets_;
    int depth_ = 0;
    int begun_ = 0;
    int own_resets_ = 0;
    bool was_reset_ = false;
};

}  // namespace jpki::sim
