/* util.h: small pure helpers shared by every module. */
#ifndef UTIL_H
#define UTIL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN	64

/* A growing byte buffer, always NUL-terminated once written to. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* A NULL-terminated vector of strings (argv, envp) that owns them. */
struct strv {
	char	**v;
	size_t	  n;
};

void	 hex_encode(const unsigned char *, size_t, char *);
int	 hex_decode(const char *, size_t, unsigned char *, size_t);
int	 hmac_sha256(const void *, size_t, const void *, size_t,
	     unsigned char [32]);
void	 sha256_hex(const void *, size_t, char [SHA256_HEX_LEN + 1]);
int	 ct_equal(const void *, size_t, const void *, size_t);
int	 ref_is_valid(const char *);
int	 sha_is_valid(const char *);
int	 sha_is_zero(const char *);
int	 glob_match(const char *, const char *);
char	*read_file(const char *, size_t, size_t *, char **);
char	*read_file_beneath(const char *, const char *, const char *, size_t,
	    size_t *, char **);
char	*read_fd(int, const char *, size_t, size_t *, char **);
char	*read_secret(const char *, size_t *, char **);
char	*url_decode(const char *, size_t, size_t *);
size_t	 utf8_seq_len(const unsigned char *, size_t);
void	 buf_init(struct buf *);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addstr(struct buf *, const char *);
void	 buf_add_json_str(struct buf *, const char *);
void	 buf_add_int(struct buf *, long long);
void	 buf_free(struct buf *);
int64_t	 now_ms(void);
void	 strv_add(struct strv *, const char *);
void	 strv_addf(struct strv *, const char *, ...)
	     __attribute__((__format__(__printf__, 2, 3)));
void	 strv_free(struct strv *);
int	 remove_tree(const char *);
int	 mkdirs(const char *, mode_t);
char	*base64_encode(const void *, size_t);
int	 parse_duration(const char *, int64_t *);

#endif
