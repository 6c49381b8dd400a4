#ifndef OTP_CPHONENUMBER_H
#define OTP_CPHONENUMBER_H
/* Google's libphonenumber (C++) behind a plain C API for Swift. Thread-safe; never throws, never
   logs (libphonenumber's logger is replaced by a null logger before its first use). */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libphonenumber's PhoneNumberUtil::PhoneNumberType, value for value (checked when compiled). */
enum {
    OTP_PHONE_FIXED_LINE = 0,
    OTP_PHONE_MOBILE = 1,
    OTP_PHONE_FIXED_LINE_OR_MOBILE = 2,
    OTP_PHONE_TOLL_FREE = 3,
    OTP_PHONE_PREMIUM_RATE = 4,
    OTP_PHONE_SHARED_COST = 5,
    OTP_PHONE_VOIP = 6,
    OTP_PHONE_PERSONAL_NUMBER = 7,
    OTP_PHONE_PAGER = 8,
    OTP_PHONE_UAN = 9,
    OTP_PHONE_VOICEMAIL = 10,
    OTP_PHONE_UNKNOWN = 11,
};

/* What libphonenumber says about one number. */
typedef struct otp_phone_facts {
    int is_valid;    /* IsValidNumber: 1 or 0 (the type is known) */
    int type;        /* GetNumberType: an OTP_PHONE_ value */
    char region[3];  /* GetRegionCodeForNumber: "US", "GB", …; "" for none ("ZZ") or non-geographic ("001") */
} otp_phone_facts;

/* Classifies `e164` ("+", then up to 15 digits) exactly as written: its country code and the
   national number after it, with no national prefix stripped (libphonenumber's Parse would read
   "+112125550123" as +12125550123).
   0: `facts` filled in. 1: not "+" and digits, or no country code (or NULL). -1: `facts`
   NULL, or an internal failure (out of memory). On 1 and -1 `facts` says invalid,
   OTP_PHONE_UNKNOWN, no region. */
int otp_phone_classify(const char *e164, otp_phone_facts *facts);

/* libphonenumber's example number of `type` for `region` ("GB"; NULL: the first region that has one),
   from its metadata, written as E.164 with a NUL into `e164` (`size` bytes; 17 always suffice).
   0: written. 1: no such example. -1: `e164` NULL, `size` too small, or an internal failure. */
int otp_phone_example_number(const char *region, int type, char *e164, size_t size);

#ifdef __cplusplus
}
#endif

#endif
