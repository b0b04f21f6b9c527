#include "card/der_length.h"

#include "card/card_error.h"

namespace jpki {

std::size_t der_total_length(const std::uint8_t* data, std::size_t len) {
    if (len < 2 || data[0] != 0x30) throw CardError(CardErrc::MalformedResponse, "not a DER SEQUENCE");
    const std::uint8_t first = data[1];
    if (first < 0x80) return 2 + first;
    const std::size_t n = first & 0x7F;
    if (n == 0 || n > 3) throw CardError(CardErrc::MalformedResponse, "unsupported DER length form");
    if (len < 2 + n) throw CardError(CardErrc::MalformedResponse, "truncated DER header");
    std::size_t body = 0;
    for (std::size_t i = 0; i < n; ++i) body = body << 8 | data[2 + i];
    return 2 + n + body;
}

}  // namespace jpki
