// Sends CommandApdus through a Transport: handles 61xx (GET RESPONSE) and 6Cxx (resend with
// the right Le) in one place, counts APDUs and bytes, and traces them when asked to by the
// environment variable JPKI_TRACE ("1" or "stderr": standard error; anything else: a file path
// to append to). Traces show the header, lengths, SW and time; never command data of a
// sensitive APDU, and never response data.
#pragma once

#include "card/apdu.h"
#include "card/transport.h"

#include <cstdint>
#include <string>

namespace jpki {

struct ApduStats {
    std::uint64_t apdus = 0;          // command APDUs sent, GET RESPONSE included
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;

    ApduStats operator-(const ApduStats& o) const {
        return {apdus - o.apdus, bytes_sent - o.bytes_sent, bytes_received - o.bytes_received};
    }
};

class CardChannel {
public:
    explicit CardChannel(Transport& transport);

    // Sends the command and returns the final response; the SW is not interpreted beyond
    // 61xx/6Cxx. Throws CardError for transport failures and malformed responses.
    ResponseApdu transmit(const CommandApdu& command);

    Transport& transport() { return transport_; }
    const ApduStats& stats() const { return stats_; }
    // Names the operation the next APDUs belong to, for the trace.
    void set_operation(const char* name) { operation_ = name; }

private:
    ResponseApdu exchange(const CommandApdu& command);
    void trace(const CommandApdu& command, const ResponseApdu* response, const char* error,
               double millis);

    Transport& transport_;
    ApduStats stats_;
    const char* operation_ = "";
};

}  // namespace jpki
