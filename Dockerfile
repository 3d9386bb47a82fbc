# Switchyard: one static binary on a distroless base, run as a non-root user.
#   docker build -t switchyard .
#   docker compose up        (MySQL 8 + Redis + switchyard; see docker-compose.yml)

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/switchyard ./server/cmd/switchyard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchyard /usr/local/bin/switchyard
USER nonroot:nonroot
ENV SWITCHYARD_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve"]
