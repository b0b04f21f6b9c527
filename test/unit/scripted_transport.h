// A Transport that replays scripted answers and records what was sent: for the status words
// and malformed answers the simulator never gives.
#pragma once

#include "card/card_error.h"
#include "card/transport.h"

#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace jpki::test {

class ScriptedTransport : public Transport {
public:
    // Queues an answer (hex, e.g. "90 00"); an empty string makes transmit throw `error`.
    ScriptedTransport& then(const std::string& answer_hex, CardErrc error = CardErrc::CommunicationError) {
        answers_.push_back({answer_hex, error});
        return *this;
    }

    Bytes transmit(const std::uint8_t* command, std::size_t len) override {
        sent.emplace_back(command, command + len);
        if (answers_.empty()) throw std::logic_error("script exhausted at " + to_hex(sent.back()));
        Step s = answers_.front();
        answers_.pop_front();
        if (s.answer.empty()) throw CardError(s.error, "scripted");
        return from_hex(s.answer);
    }
    void begin_transaction() override { ++transactions; }
    void end_transaction() noexcept override {}
    void reset_card() override { ++resets; }
    void unpower_card() override { ++resets; }
    bool take_reset_flag() noexcept override { return false; }
    Bytes atr() const override { return from_hex("3B E0 00 FF 81 31 FE 45 14"); }

    std::size_t remaining() const { return answers_.size(); }
    std::vector<Bytes> sent;
    int transactions = 0;
    int resets = 0;

private:
    struct Step {
        std::string answer;
        CardErrc error;
    };
    std::deque<Step> answers_;
};

}  // namespace jpki::test
