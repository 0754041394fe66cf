// SPDX-License-Identifier: Apache-2.0
/*
 * The policy text lexer and the token-level helpers of the parser: tracks line and
 * column so every error can point at file:line:col.
 */
#include "internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void adv(struct acm_parser *ps)
{
	if (*ps->p == '\n') {
		ps->line++;
		ps->col = 1;
	} else {
		ps->col++;
	}
	ps->p++;
}

/* Reads the next token into ps->t. */
int acm_lex(struct acm_parser *ps)
{
	struct acm_tok *t = &ps->t;
	size_t n = 0;

	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
					   *ps->p == '\r'))
			adv(ps);
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				adv(ps);
			continue;
		}
		break;
	}
	t->line = ps->line;
	t->col = ps->col;
	t->s[0] = '\0';
	if (ps->p >= ps->end) {
		t->type = ACM_T_EOF;
		return 0;
	}
	if (is_alpha(*ps->p) || is_digit(*ps->p)) {
		t->type = is_digit(*ps->p) ? ACM_T_NUM : ACM_T_IDENT;
		while (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p))) {
			if (n == ACM_TOK_MAX)
				ACM_PFAIL(ps, t, "word too long (at most %d characters)", ACM_TOK_MAX);
			t->s[n++] = *ps->p;
			adv(ps);
		}
		t->s[n] = '\0';
		return 0;
	}
	if (*ps->p == '"') {
		t->type = ACM_T_STR;
		adv(ps);
		while (ps->p < ps->end && *ps->p != '"') {
			if (*ps->p < 0x20 || *ps->p > 0x7e)
				ACM_PFAIL(ps, t, "string not closed on its line, or not printable ASCII");
			if (n == ACM_TOK_MAX)
				ACM_PFAIL(ps, t, "string too long (at most %d characters)", ACM_TOK_MAX);
			t->s[n++] = *ps->p;
			adv(ps);
		}
		if (ps->p >= ps->end)
			ACM_PFAIL(ps, t, "string not closed");
		adv(ps);
		t->s[n] = '\0';
		return 0;
	}
	t->type = ACM_T_PUNCT;
	if (ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] == '>') {
		strcpy(t->s, "->");
		adv(ps);
		adv(ps);
		return 0;
	}
	if (ps->end - ps->p >= 3 && memcmp(ps->p, "<->", 3) == 0) {
		strcpy(t->s, "<->");
		adv(ps);
		adv(ps);
		adv(ps);
		return 0;
	}
	if (strchr(";,{}:=*%-", *ps->p) && *ps->p) {
		t->s[0] = *ps->p;
		t->s[1] = '\0';
		adv(ps);
		return 0;
	}
	if ((unsigned char)*ps->p >= 0x21 && (unsigned char)*ps->p <= 0x7e)
		ACM_PFAIL(ps, t, "unexpected character '%c'", *ps->p);
	ACM_PFAIL(ps, t, "unexpected byte 0x%02x", (unsigned char)*ps->p);
}

const char *acm_tok_describe(const struct acm_tok *t)
{
	switch (t->type) {
	case ACM_T_EOF:
		return "end of file";
	case ACM_T_STR:
		return "a string";
	default:
		return t->s;
	}
}

bool acm_tok_punct(const struct acm_tok *t, const char *s)
{
	return t->type == ACM_T_PUNCT && strcmp(t->s, s) == 0;
}

bool acm_tok_word(const struct acm_tok *t, const char *s)
{
	return t->type == ACM_T_IDENT && strcmp(t->s, s) == 0;
}

int acm_expect(struct acm_parser *ps, const char *punct, const char *after)
{
	if (!acm_tok_punct(&ps->t, punct))
		ACM_PFAIL(ps, &ps->t, "expected '%s' %s, found '%s'", punct, after, acm_tok_describe(&ps->t));
	return acm_lex(ps);
}

/* Takes an identifier into out (ACM_NAME_MAX + 1 bytes), remembering its position. */
int acm_take_name(struct acm_parser *ps, const char *what, char *out, struct acm_tok *where)
{
	if (ps->t.type != ACM_T_IDENT)
		ACM_PFAIL(ps, &ps->t, "expected %s name, found '%s'", what, acm_tok_describe(&ps->t));
	if (strlen(ps->t.s) > ACM_NAME_MAX)
		ACM_PFAIL(ps, &ps->t, "%s name longer than %d characters", what, ACM_NAME_MAX);
	strcpy(out, ps->t.s);
	if (where)
		*where = ps->t;
	return acm_lex(ps);
}

int acm_take_uint(struct acm_parser *ps, const char *what, uint64_t max, uint64_t *out)
{
	if (ps->t.type != ACM_T_NUM || util_parse_uint(ps->t.s, 0, max, out))
		ACM_PFAIL(ps, &ps->t, "expected %s (a whole number up to %llu), found '%s'", what,
		     (unsigned long long)max, acm_tok_describe(&ps->t));
	return acm_lex(ps);
}

int acm_take_size(struct acm_parser *ps, const char *what, uint64_t *out)
{
	if (ps->t.type != ACM_T_NUM || util_parse_size(ps->t.s, out))
		ACM_PFAIL(ps, &ps->t, "expected %s (a size such as 512M or 4G), found '%s'", what,
		     acm_tok_describe(&ps->t));
	return acm_lex(ps);
}

