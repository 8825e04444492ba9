"""Extensions, created unbound and initialised in ``create_app``."""

import re

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, TextClause
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


READ_BIND = "quizapp.read_bind"  # session.info: the replica's engine inside ``replica.reads()``
_NOT_PLAIN = re.compile(r"\b(FOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)|INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


class Session(FlaskSession):
    """Flask-SQLAlchemy's session; inside ``replica.reads()`` its plain reads (a SELECT that locks
    nothing) go to the read replica. Its first write there (a flush, an INSERT/UPDATE/DELETE, any
    other statement) goes to the primary and ends the replica's part: what follows reads the
    primary, so a block reads its own writes. Outside such a block: one dictionary look-up."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = self.info.get(READ_BIND) if bind is None else None
        if replica:
            if clause is not None and _plain_read(clause):
                return replica
            if clause is not None or mapper is not None:  # a write (``get_bind()`` alone asks the dialect)
                self.info[READ_BIND] = False
        return super().get_bind(mapper, clause, bind, **kwargs)


def _plain_read(clause) -> bool:
    if isinstance(clause, TextClause):
        sql = clause.text.lstrip().upper()
        return sql.startswith(("SELECT", "WITH")) and not _NOT_PLAIN.search(sql)
    return bool(getattr(clause, "is_select", False)) and getattr(clause, "_for_update_arg", None) is None


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
