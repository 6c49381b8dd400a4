// libphonenumber behind CPhoneNumber.h. PhoneNumberUtil is a process-wide singleton whose const
// methods are thread-safe (Debian builds it with POSIX once and mutexes); nothing here keeps state
// of its own. No C++ exception leaves this file.
#include "CPhoneNumber.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

static_assert(OTP_PHONE_FIXED_LINE == PhoneNumberUtil::FIXED_LINE, "type values");
static_assert(OTP_PHONE_MOBILE == PhoneNumberUtil::MOBILE, "type values");
static_assert(OTP_PHONE_FIXED_LINE_OR_MOBILE == PhoneNumberUtil::FIXED_LINE_OR_MOBILE, "type values");
static_assert(OTP_PHONE_TOLL_FREE == PhoneNumberUtil::TOLL_FREE, "type values");
static_assert(OTP_PHONE_PREMIUM_RATE == PhoneNumberUtil::PREMIUM_RATE, "type values");
static_assert(OTP_PHONE_SHARED_COST == PhoneNumberUtil::SHARED_COST, "type values");
static_assert(OTP_PHONE_VOIP == PhoneNumberUtil::VOIP, "type values");
static_assert(OTP_PHONE_PERSONAL_NUMBER == PhoneNumberUtil::PERSONAL_NUMBER, "type values");
static_assert(OTP_PHONE_PAGER == PhoneNumberUtil::PAGER, "type values");
static_assert(OTP_PHONE_UAN == PhoneNumberUtil::UAN, "type values");
static_assert(OTP_PHONE_VOICEMAIL == PhoneNumberUtil::VOICEMAIL, "type values");
static_assert(OTP_PHONE_UNKNOWN == PhoneNumberUtil::UNKNOWN && PhoneNumberUtil::kMaxNumberType == PhoneNumberUtil::UNKNOWN,
              "type values");

// The singleton, with a null logger installed once (a thread-safe static) before anything else
// uses it: libphonenumber's messages about a number must never reach stdout or stderr.
static const PhoneNumberUtil &phone_util() {
    static const PhoneNumberUtil *const util = [] {
        PhoneNumberUtil *instance = PhoneNumberUtil::GetInstance();
        instance->SetLogger(new NullLogger());  // takes ownership
        return instance;
    }();
    return *util;
}

static void set_unknown(otp_phone_facts *facts) {
    facts->is_valid = 0;
    facts->type = OTP_PHONE_UNKNOWN;
    facts->region[0] = '\0';
}

// The number exactly as written: country code (codes are prefix-free, so the first 1 to 3 digits
// that name one are it) and the national significant number after it, leading zeros kept. Not
// PhoneNumberUtil::Parse, for two reasons. Parse strips a national prefix after the country code
// (it reads "+1 1 212 555 0123" as +1 212 555 0123), so the firewall would judge another number
// than the one the SMS goes to; and its regular expressions for free-form input cost about half
// of a classification.
static bool number_as_written(const PhoneNumberUtil &util, const char *e164, PhoneNumber *number) {
    const size_t length = std::strlen(e164);
    if (length < 2 || length > 16 || e164[0] != '+' || e164[1] == '0') return false;
    for (size_t index = 1; index < length; index++) {
        if (e164[index] < '0' || e164[index] > '9') return false;
    }
    const char *digits = e164 + 1;
    int country_code = 0;
    for (size_t width = 1; width <= 3 && width < length - 1; width++) {
        country_code = country_code * 10 + (digits[width - 1] - '0');
        std::string region;
        util.GetRegionCodeForCountryCode(country_code, &region);
        if (region == "ZZ") continue;
        const char *national = digits + width;
        int leading_zeros = 0;
        while (national[leading_zeros] == '0' && national[leading_zeros + 1] != '\0') leading_zeros++;
        number->set_country_code(country_code);
        number->set_national_number(std::strtoull(national, nullptr, 10));
        if (leading_zeros > 0) {
            number->set_italian_leading_zero(true);
            if (leading_zeros > 1) number->set_number_of_leading_zeros(leading_zeros);
        }
        return true;
    }
    return false;
}

extern "C" int otp_phone_classify(const char *e164, otp_phone_facts *facts) {
    if (facts == nullptr) return -1;
    set_unknown(facts);
    if (e164 == nullptr) return 1;
    try {
        const PhoneNumberUtil &util = phone_util();
        PhoneNumber number;
        if (!number_as_written(util, e164, &number)) return 1;
        // IsValidNumber is GetNumberType's answer being known (the same region and pattern test):
        // one pass through the patterns instead of two.
        const PhoneNumberUtil::PhoneNumberType type = util.GetNumberType(number);
        facts->type = type;
        facts->is_valid = type != PhoneNumberUtil::UNKNOWN ? 1 : 0;
        std::string region;
        util.GetRegionCodeForNumber(number, &region);
        // "ZZ": unknown region; "001": a non-geographic entity (+800, +808, +870, …).
        if (region.size() == 2 && region != "ZZ") {
            facts->region[0] = region[0];
            facts->region[1] = region[1];
            facts->region[2] = '\0';
        }
        return 0;
    } catch (...) {
        set_unknown(facts);
        return -1;
    }
}

extern "C" int otp_phone_example_number(const char *region, int type, char *e164, size_t size) {
    if (e164 == nullptr || size == 0) return -1;
    e164[0] = '\0';
    if (type < OTP_PHONE_FIXED_LINE || type > OTP_PHONE_UNKNOWN) return 1;
    try {
        const PhoneNumberUtil &util = phone_util();
        const auto number_type = static_cast<PhoneNumberUtil::PhoneNumberType>(type);
        PhoneNumber number;
        const bool found = region == nullptr ? util.GetExampleNumberForType(number_type, &number)
                                             : util.GetExampleNumberForType(region, number_type, &number);
        if (!found) return 1;
        std::string formatted;
        util.Format(number, PhoneNumberUtil::E164, &formatted);
        if (formatted.size() >= size) return -1;
        std::memcpy(e164, formatted.c_str(), formatted.size() + 1);
        return 0;
    } catch (...) {
        return -1;
    }
}
