#include "pcsc/pcsc_context.h"

#include "pcsc/pcsc_call.h"

#include <algorithm>

namespace jpki {

PcscContext::PcscContext() {
    SCARDCONTEXT ctx = 0;
    pcsc_check("SCardEstablishContext", SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx));
    ctx_ = ctx;
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
        if (pcsc_check("SCardListReaders", SCardListReaders(ctx_, nullptr, nullptr, &len),
                       {SCARD_E_NO_READERS_AVAILABLE}) != SCARD_S_SUCCESS)
            return {};
        buf.assign(len, '\0');
        rv = pcsc_check("SCardListReaders", SCardListReaders(ctx_, nullptr, buf.data(), &len),
                        {SCARD_E_NO_READERS_AVAILABLE, SCARD_E_INSUFFICIENT_BUFFER});
    }
    if (rv != SCARD_S_SUCCESS) {
        if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
        throw_pcsc(rv, "SCardListReaders");
    }
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

}  // namespace jpki
