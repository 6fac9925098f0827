/* tap.h: header-only TAP output for the C unit tests. */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <stdlib.h>

static int	tap_count;
static int	tap_failed;

/* ok(cond, title...): the condition is evaluated exactly once. */
#define ok(cond, ...) do {						\
	int ok_c_ = (cond) ? 1 : 0;					\
	tap_count++;							\
	if (!ok_c_)							\
		tap_failed++;						\
	printf("%sok %d - ", ok_c_ ? "" : "not ", tap_count);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_c_)							\
		printf("#   failed at %s:%d\n", __FILE__, __LINE__);	\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *is_g_ = (got), *is_w_ = (want);			\
	int is_ok_ = (is_g_ == NULL && is_w_ == NULL) ||		\
	    (is_g_ != NULL && is_w_ != NULL && strcmp(is_g_, is_w_) == 0); \
	ok(is_ok_, __VA_ARGS__);					\
	if (!is_ok_)							\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    is_g_ ? is_g_ : "(null)", is_w_ ? is_w_ : "(null)");	\
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return (tap_failed == 0 ? 0 : 1);
}

#endif
