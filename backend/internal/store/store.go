package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/nimbo-panel/nimbo/migrations"
)

// Database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DB is an open database and the driver it speaks.
type DB struct {
	*gorm.DB
	// SQL is the underlying pool, for hot paths that skip GORM.
	SQL    *sql.DB
	Driver string
}

// Now is the clock of every row timestamp: UTC, microsecond precision (what PostgreSQL keeps).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open connects to the database. SQLite runs in WAL mode with a busy timeout, foreign keys
// and immediate transactions (writers serialize instead of failing on lock upgrade).
func Open(ctx context.Context, driver, dsn string, log *slog.Logger) (*DB, error) {
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                Now,
		TranslateError:         true,
		SkipDefaultTransaction: true,
	}
	var (
		g   *gorm.DB
		err error
	)
	switch driver {
	case DriverSQLite:
		g, err = gorm.Open(sqlite.Open(sqliteDSN(dsn)), gcfg)
	case DriverPostgres:
		g, err = gorm.Open(postgres.Open(dsn), gcfg)
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if driver == DriverSQLite {
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("ping %s database: %w", driver, err)
	}
	log.Debug("database open", "driver", driver)
	return &DB{DB: g, SQL: sqlDB, Driver: driver}, nil
}

func sqliteDSN(dsn string) string {
	params := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if strings.Contains(dsn, "?") {
		return dsn + "&" + params
	}
	return dsn + "?" + params
}

// Close closes the connection pool.
func (d *DB) Close() error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return fmt.Errorf("database handle: %w", err)
	}
	return sqlDB.Close()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return fmt.Errorf("database handle: %w", err)
	}
	return sqlDB.PingContext(ctx)
}

// Placeholder returns the n-th (1-based) bind parameter of the driver: $n or ?.
func (d *DB) Placeholder(n int) string {
	if d.Driver == DriverPostgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// ForUpdate returns tx locking the rows it reads on PostgreSQL; SQLite serializes writers
// already (immediate transactions).
func (d *DB) ForUpdate(tx *gorm.DB) *gorm.DB {
	if d.Driver == DriverPostgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// Migrate applies, in order and each in its own transaction, the embedded migrations of the
// driver that are not recorded in schema_migrations yet. It returns the versions it applied.
func (d *DB) Migrate(ctx context.Context) ([]string, error) { return d.MigrateTo(ctx, "") }

// MigrateTo is Migrate stopping after the migrations whose version is at most last (compared
// as strings, so "0006" stops after 0006_*); "" applies them all.
func (d *DB) MigrateTo(ctx context.Context, last string) ([]string, error) {
	dir := d.Driver
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		if last != "" && name[:min(len(name), len(last))] > last {
			break
		}
		body, err := fs.ReadFile(migrations.FS, path.Join(dir, name))
		if err != nil {
			return applied, fmt.Errorf("read migration %s: %w", name, err)
		}
		version := strings.TrimSuffix(name, ".sql")
		done, err := d.applyOne(ctx, version, string(body))
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", version, err)
		}
		if done {
			applied = append(applied, version)
		}
	}
	return applied, nil
}

// foreignKeysOff marks a SQLite migration that rebuilds a table other tables reference. It
// runs with foreign key enforcement off on its own connection (SQLite cannot change the
// setting inside a transaction) and must leave no violation: PRAGMA foreign_key_check is
// run before commit.
const foreignKeysOff = "-- nimbo:foreign-keys-off"

func (d *DB) applyOne(ctx context.Context, version, body string) (bool, error) {
	if d.Driver == DriverSQLite && strings.HasPrefix(body, foreignKeysOff) {
		return d.applyWithoutForeignKeys(ctx, version, body)
	}
	applied := false
	err := d.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if d.Driver == DriverPostgres {
			// Serialize concurrent migrators (several panel processes starting together).
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7254011)").Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if n > 0 {
			return nil
		}
		if err := tx.Exec(body).Error; err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		if err := tx.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, Now()).Error; err != nil {
			return fmt.Errorf("record: %w", err)
		}
		applied = true
		return nil
	})
	return applied, err
}

// IsDuplicate reports whether err is a unique-constraint violation.
func IsDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// IsNotFound reports whether err is GORM's record-not-found.
func IsNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

func (d *DB) applyWithoutForeignKeys(ctx context.Context, version, body string) (applied bool, err error) {
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("connection: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return false, fmt.Errorf("foreign keys off: %w", err)
	}
	defer func() {
		if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
			err = fmt.Errorf("foreign keys on: %w", ferr)
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return false, fmt.Errorf("apply: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return false, fmt.Errorf("foreign key check: %w", err)
	}
	bad := rows.Next()
	_ = rows.Close()
	if bad {
		return false, errors.New("foreign key violations after the migration")
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, Now()); err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// LikePattern escapes q for a substring match: use it as `col LIKE ? ESCAPE '\'` with
// '%q%'. The backslash, % and _ of q match themselves.
func LikePattern(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
}
