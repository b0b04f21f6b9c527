// The total length of a DER element (header + contents) from its first bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jpki {

// Throws CardError(MalformedResponse) unless `data` starts with a SEQUENCE header in
// definite form whose length fits in 3 bytes.
std::size_t der_total_length(const std::uint8_t* data, std::size_t len);

}  // namespace jpki
