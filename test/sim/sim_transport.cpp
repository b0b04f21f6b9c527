#include "test/sim/sim_transport.h"

#include "card/card_error.h"

namespace jpki::sim {

SimTransport::SimTransport(JpkiCard& card) : card_(card) {
    if (!card_.powered()) card_.power_on();
    seen_resets_ = card_.resets();
}

void SimTransport::notice_foreign_reset() {
    if (card_.resets() == seen_resets_) return;
    seen_resets_ = card_.resets();
    was_reset_ = true;
    if (!card_.powered()) card_.power_on();
    // Like PC/SC: a reset seen inside a transaction fails the command.
    if (depth_ > 0) throw CardError(CardErrc::CardReset, "SimTransport");
}

Bytes SimTransport::transmit(const std::uint8_t* command, std::size_t len) {
    if (card_.removed()) throw CardError(CardErrc::CardRemoved, "SimTransport");
    notice_foreign_reset();
    Bytes response = card_.process(Bytes(command, command + len));
    if (card_.removed()) throw CardError(CardErrc::CardRemoved, "SimTransport");
    if (card_.resets() != seen_resets_) {
        // Reset while the command ran (a ResetBefore fault): PC/SC reports that instead of
        // the answer inside a transaction.
        seen_resets_ = card_.resets();
        was_reset_ = true;
        if (depth_ > 0) throw CardError(CardErrc::CardReset, "SimTransport");
    }
    if (response.empty()) throw CardError(CardErrc::CommunicationError, "SimTransport: card did not answer");
    return response;
}

void SimTransport::begin_transaction() {
    if (card_.removed()) throw CardError(CardErrc::CardRemoved, "SimTransport");
    if (depth_ == 0) {
        try {
            notice_foreign_reset();
        } catch (const CardError&) {
        }
    }
    ++depth_;
    ++begun_;
}

void SimTransport::end_transaction() noexcept {
    if (depth_ > 0) --depth_;
}

void SimTransport::reset_card() {
    if (card_.removed()) throw CardError(CardErrc::CardRemoved, "SimTransport");
    card_.reset();
    seen_resets_ = card_.resets();
    ++own_resets_;
}

void SimTransport::unpower_card() {
    if (card_.removed()) throw CardError(CardErrc::CardRemoved, "SimTransport");
    card_.power_off();
    card_.power_on();
    seen_resets_ = card_.resets();
    ++own_resets_;
}

bool SimTransport::take_reset_flag() noexcept {
    const bool r = was_reset_;
    was_reset_ = false;
    return r;
}

}  // namespace jpki::sim
