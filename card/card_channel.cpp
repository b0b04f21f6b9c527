#include "card/card_channel.h"

#include "card/card_error.h"
#include "card/commands.h"
#include "common/scope_exit.h"
#include "common/secure_memory.h"
#include "common/trace.h"

#include <chrono>
#include <optional>
#include <cstdio>

namespace jpki {

namespace {
// Bounded: a card that keeps answering 61xx forever is broken, not slow.
constexpr int kMaxGetResponse = 64;
}  // namespace

CardChannel::CardChannel(Transport& transport) : transport_(transport) {}

ResponseApdu CardChannel::exchange(const CommandApdu& command) {
    Bytes raw;
    command.encode(raw);
    // The encoded VERIFY holds the PIN: wiped however this function is left.
    ScopeExit wipe([&] {
        if (command.is_sensitive()) secure_wipe(raw.data(), raw.size());
    });
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(); };
    Bytes answer;
    try {
        answer = transport_.transmit(raw.data(), raw.size());
    } catch (const CardError& e) {
        trace(command, nullptr, e.what(), elapsed());
        throw;
    }
    ++stats_.apdus;
    stats_.bytes_sent += raw.size();
    stats_.bytes_received += answer.size();
    const double millis = elapsed();
    try {
        ResponseApdu response = ResponseApdu::parse(answer);
        trace(command, &response, nullptr, millis);
        return response;
    } catch (const CardError& e) {
        trace(command, nullptr, e.what(), millis);
        throw;
    }
}

ResponseApdu CardChannel::transmit(const CommandApdu& command) {
    ResponseApdu response = exchange(command);
    std::optional<std::uint32_t> le_sent = command.le();
    // 6Cxx: wrong Le; the card says how many bytes it has. Resend once with that Le — only a
    // command that asked for data, never a VERIFY (a second VERIFY is never sent on our own).
    if (response.sw1() == 0x6C && command.le() && !command.is_sensitive() && command.ins() != cmd::kInsVerify) {
        const std::uint32_t le = response.sw2() == 0 ? 256 : response.sw2();
        response = exchange(command.with_le(le));
        le_sent = le;
    }
    // 61xx: more data waits; fetch it with GET RESPONSE (ISO 7816-4 7.6.1).
    Bytes data = std::move(response.data());
    int rounds = 0;
    while (response.sw1() == 0x61) {
        if (++rounds > kMaxGetResponse) throw CardError(CardErrc::MalformedResponse, "endless GET RESPONSE");
        const std::uint32_t le = response.sw2() == 0 ? 256 : response.sw2();
        response = exchange(cmd::get_response(le));
        if (response.data().size() > le) throw CardError(CardErrc::MalformedResponse, "GET RESPONSE longer than asked");
        data.insert(data.end(), response.data().begin(), response.data().end());
    }
    if (le_sent && data.size() > *le_sent && rounds == 0)
        throw CardError(CardErrc::MalformedResponse, "response longer than Le", response.sw());
    return ResponseApdu(std::move(data), response.sw());
}

void CardChannel::trace(const CommandApdu& c, const ResponseApdu* r, const char* error, double millis) {
    if (!trace_enabled()) return;
    // A sensitive APDU shows neither its data nor its length (the PIN's length).
    char lc[32];
    if (c.is_sensitive()) std::snprintf(lc, sizeof lc, "Lc=<redacted> data=<redacted>");
    else std::snprintf(lc, sizeof lc, "Lc=%zu", c.data().size());
    char line[256];
    if (r) {
        std::snprintf(line, sizeof line, "apdu op=%s %02X %02X %02X %02X %s Le=%d -> SW=%04X len=%zu %.1fms",
                      operation_, c.cla(), c.ins(), c.p1(), c.p2(), lc, c.le() ? static_cast<int>(*c.le()) : -1,
                      r->sw(), r->data().size(), millis);
    } else {
        std::snprintf(line, sizeof line, "apdu op=%s %02X %02X %02X %02X %s -> error: %s %.1fms", operation_,
                      c.cla(), c.ins(), c.p1(), c.p2(), lc, error, millis);
    }
    trace_line(line);
}

}  // namespace jpki
