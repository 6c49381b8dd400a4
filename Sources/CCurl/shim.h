#ifndef OTP_CCURL_SHIM_H
#define OTP_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic and cannot be called from Swift:
   one typed wrapper per argument kind. */
static inline CURLcode otp_curl_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode otp_curl_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode otp_curl_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode otp_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
typedef size_t (*otp_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode otp_curl_setopt_write_function(CURL *h, otp_curl_write_callback f) {
    return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}
static inline CURLcode otp_curl_setopt_read_function(CURL *h, otp_curl_write_callback f) {
    return curl_easy_setopt(h, CURLOPT_READFUNCTION, f);
}
static inline CURLcode otp_curl_setopt_header_function(CURL *h, otp_curl_write_callback f) {
    return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f);
}
typedef int (*otp_curl_sockopt_callback)(void *clientp, curl_socket_t curlfd, curlsocktype purpose);
static inline CURLcode otp_curl_setopt_sockopt_function(CURL *h, otp_curl_sockopt_callback f) {
    return curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, f);
}
static inline CURLcode otp_curl_getinfo_long(CURL *h, CURLINFO i, long *v) {
    return curl_easy_getinfo(h, i, v);
}
static inline CURLcode otp_curl_getinfo_double(CURL *h, CURLINFO i, double *v) {
    return curl_easy_getinfo(h, i, v);
}
static inline CURLcode otp_curl_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) {
    return curl_easy_getinfo(h, i, v);
}
/* CURLAUTH_BASIC is a cast expression and does not import into Swift. */
static const long otp_curlauth_basic = (long)CURLAUTH_BASIC;
#endif
