# Writes the bytes of IN as a C array NAME (const unsigned char NAME[],
# const size_t NAME_len) to OUT: a file compiled into the library so it is
# never read at run time (the sRGB ICC profile of the Factur-X output intent).
#   cmake -DIN=file -DOUT=file.c -DNAME=ident -P embed_file.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n\t" body "${body}")
get_filename_component(src "${IN}" NAME)
file(WRITE "${OUT}.tmp" "/* Generated from ${src} by cmake/embed_file.cmake; do not edit. */\n"
	"#include <stddef.h>\n\n"
	"extern const unsigned char ${NAME}[];\nextern const size_t ${NAME}_len;\n\n"
	"const unsigned char ${NAME}[] = {\n\t${body}\n};\n"
	"const size_t ${NAME}_len = ${bytes};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
