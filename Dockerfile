# billing-server in a container (docs/operations.md). Two stages: the build
# is the one scripts/server.sh runs; the runtime image holds the server and
# the shared libraries it loads, and runs as an unprivileged user.
#   docker build -t billing-server .
#   docker run -p 8080:8080 -v billing-data:/var/lib/billing billing-server

FROM debian:12 AS build
WORKDIR /src
COPY . .
# scripts/deps.sh installs everything the build and the tests use; this stage
# is thrown away, so the test tools it brings do not reach the image.
RUN ./scripts/deps.sh \
 && cmake --preset release >/dev/null \
 && cmake --build --preset release -j"$(nproc)" --target billing-server

# The runtime packages: what libbilling and the server load (readelf's NEEDED,
# checked against this list by the test dockerfile_runtime), and the Noto
# fonts the PDF documents are drawn with. The Factur-X sRGB profile is
# compiled into libbilling: no ICC package at run time.
FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libpq5 libcjson1 libssl3 libcurl4 libmicrohttpd12 libargon2-1 libxml2 \
      libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libqpdf29 fonts-noto-core fonts-noto-cjk \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/billing --create-home billing
COPY --from=build /src/build/release/libbilling.so* /usr/local/lib/
COPY --from=build /src/build/release/examples/billing-server/billing-server /usr/local/bin/
RUN ldconfig
USER billing
WORKDIR /var/lib/billing
VOLUME /var/lib/billing
# Inside a container the server listens on every interface; the SQLite file
# (and the JWT secret it generates beside it) live on the volume.
ENV BILLING_DATABASE_URL=sqlite:/var/lib/billing/billing.db \
    BILLING_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["billing-server"]
CMD ["serve"]
